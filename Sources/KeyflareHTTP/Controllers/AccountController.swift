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

    /// `/api/auth/check`'s body, written directly into one buffer: every field is a UUID, a fixed
    /// word, a canonical scope or a timestamp, none of which needs escaping, and this route should
    /// cost next to nothing (no Foundation UUID string, no lowercased copies).
    static func check(_ token: VerifiedToken) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: checkBody(token)))
    }

    /// The body of `check`.
    static func checkBody(_ token: VerifiedToken) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(160 + 48 * token.scopes.count)
        buffer.writeStaticString(#"{"account_id":""#)
        writeUUID(token.accountID, to: &buffer)
        buffer.writeStaticString(#"","expires_at":"#)
        if let expiresAt = token.expiresAt {
            buffer.writeString("\"" + RFC3339.format(expiresAt) + "\"")
        } else {
            buffer.writeStaticString("null")
        }
        buffer.writeStaticString(#","scopes":["#)
        for (i, scope) in token.scopes.enumerated() {
            if i > 0 { buffer.writeStaticString(",") }
            buffer.writeStaticString("\"")
            buffer.writeString(scope.description)
            buffer.writeStaticString("\"")
        }
        buffer.writeStaticString(#"],"token_id":""#)
        writeUUID(token.tokenID, to: &buffer)
        buffer.writeStaticString(#"","type":""#)
        buffer.writeString(token.kind.rawValue)
        buffer.writeStaticString(#""}"#)
        return buffer
    }

    /// A UUID in its canonical lower-case form, as `uuidString.lowercased()` writes it.
    static func writeUUID(_ uuid: UUID, to buffer: inout ByteBuffer) {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 36) { out in
            withUnsafeBytes(of: uuid.uuid) { bytes in
                let hex: (UInt8) -> UInt8 = { $0 < 10 ? $0 &+ 0x30 : $0 &+ 0x57 }
                var j = 0
                for i in 0..<16 {
                    if i == 4 || i == 6 || i == 8 || i == 10 {
                        out[j] = UInt8(ascii: "-")
                        j += 1
                    }
                    out[j] = hex(bytes[i] >> 4)
                    out[j + 1] = hex(bytes[i] & 0x0f)
                    j += 2
                }
            }
            return 36
        }
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
