import Foundation
import Hummingbird
import KeyflareCore
import KeyflareStore

/// `GET /api/account` and `GET /api/auth/check`.
struct AccountController {
    let accounts: AccountStore

    struct AccountJSON: Encodable {
        let id: String
        let name: String
    }

    func addRoutes(to group: RouterGroup<TokenContext>) {
        group.get("/account") { _, context -> Response in
            try context.token.requireManagement()
            guard let account = try await accounts.account(id: context.token.accountID) else {
                // The token outlived its account (deleted by an operator): it no longer identifies anyone.
                throw TokenRejection.unknown
            }
            return try JSONResponse.make(AccountJSON(id: account.id.uuidString.lowercased(), name: account.name))
        }
        // Any valid token may introspect itself; no scope check, no body read.
        group.get("/auth/check") { _, context -> Response in
            try JSONResponse.make(TokenCheckJSON(token: context.token))
        }
    }
}
