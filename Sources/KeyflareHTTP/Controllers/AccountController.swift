import Foundation
import Hummingbird
import NIOCore
import KeyflareCore
import KeyflareStore

/// `GET /api/account` and `GET /api/auth/check`.
struct AccountController {
    let accounts: AccountStore

    struct AccountJSON: Encodable {
        let id: String
        let name: String
    }

    /// `/api/auth/check`'s body, written directly: every field is a UUID, a fixed word, a canonical
    /// scope or a timestamp, none of which needs escaping, and this route should cost next to nothing.
    static func check(_ token: VerifiedToken) -> Response {
        var json = #"{"account_id":""# + token.accountID.uuidString.lowercased() + #"","expires_at":"#
        json += token.expiresAt.map { "\"" + RFC3339.format($0) + "\"" } ?? "null"
        json += #","scopes":["# + token.scopes.map { "\"\($0)\"" }.joined(separator: ",") + "]"
        json += #","token_id":""# + token.tokenID.uuidString.lowercased() + #"","type":""# + token.kind.rawValue + #""}"#
        return Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: json)))
    }

    func addRoutes(to group: RouterGroup<TokenContext>) {
        group.get("/account") { request, context -> Response in
            try QueryString(request).requireOnly([])
            try context.token.requireManagement()
            guard let account = try await accounts.account(id: context.token.accountID) else {
                // The token outlived its account (deleted by an operator): it no longer identifies anyone.
                throw TokenRejection.unknown
            }
            return try JSONResponse.make(AccountJSON(id: account.id.uuidString.lowercased(), name: account.name))
        }
        // Any valid token may introspect itself; no scope check, no body read.
        group.get("/auth/check") { _, context -> Response in
            Self.check(context.token)
        }
    }
}
