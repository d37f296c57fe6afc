import Foundation
import Hummingbird
import KeyflareCore
import KeyflareStore

/// `/api/access-tokens`: list, create, show and revoke an account's tokens. Management only.
struct AccessTokenController {
    let tokens: AccessTokenStore
    static let notFound = KeyflareError.notFound("access token not found")

    /// `POST /api/access-tokens` body. `scopes` is a list or one space-separated string.
    struct CreateRequest: Decodable {
        let description: String?
        let scopes: [String]?
        let expiresAt: String?
        let expiresIn: Int?

        enum CodingKeys: String, CodingKey {
            case description, scopes, expiresAt = "expires_at", expiresIn = "expires_in"
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            description = try c.decodeIfPresent(String.self, forKey: .description)
            if let list = try? c.decodeIfPresent([String].self, forKey: .scopes) {
                scopes = list
            } else if let text = try? c.decodeIfPresent(String.self, forKey: .scopes) {
                scopes = text.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
            } else if c.contains(.scopes), try !c.decodeNil(forKey: .scopes) {
                throw KeyflareError.unprocessable("scopes must be a list of strings or a space-separated string")
            } else {
                scopes = nil
            }
            expiresAt = try c.decodeIfPresent(String.self, forKey: .expiresAt)
            expiresIn = try c.decodeIfPresent(Int.self, forKey: .expiresIn)
        }

        /// The expiry asked for, checked.
        func expiry(now: Date = Date()) throws -> Date? {
            if expiresAt != nil, expiresIn != nil {
                throw KeyflareError.unprocessable("give expires_at or expires_in, not both")
            }
            if let expiresAt {
                guard let date = RFC3339.parse(expiresAt) else {
                    throw KeyflareError.unprocessable("expires_at must be an RFC 3339 timestamp")
                }
                guard date > now else { throw KeyflareError.unprocessable("expires_at must be in the future") }
                return date
            }
            if let expiresIn {
                guard expiresIn > 0 else { throw KeyflareError.unprocessable("expires_in must be a positive number of seconds") }
                return now.addingTimeInterval(TimeInterval(expiresIn))
            }
            return nil
        }
    }

    func addRoutes(to group: RouterGroup<TokenContext>) {
        group.get("/access-tokens") { request, context -> Response in
            try context.token.requireManagement()
            let includeRevoked = request.uri.queryParameters["include_revoked"].map { $0 == "true" || $0 == "1" } ?? false
            let list = try await tokens.list(accountID: context.token.accountID, includeRevoked: includeRevoked)
            return try JSONResponse.make(list.map { TokenJSON(token: $0, secret: nil) })
        }
        group.post("/access-tokens") { request, context -> Response in
            try context.token.requireManagement()
            let body = try await RequestBody.decode(CreateRequest.self, from: request)
            let scopes = try Scope.parseList(body.scopes ?? ["ingest"])
            let description = (body.description ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            let (token, secret) = try await tokens.create(
                accountID: context.token.accountID, description: description, scopes: scopes,
                expiresAt: try body.expiry()
            )
            return try JSONResponse.make(TokenJSON(token: token, secret: secret), status: .created)
        }
        group.get("/access-tokens/:id") { request, context -> Response in
            let id = try request.uuidParameter("id", context: context, notFound: Self.notFound)
            guard let token = try await tokens.find(id: id, accountID: context.token.accountID) else { throw Self.notFound }
            try context.token.requireManagement()
            return try JSONResponse.make(TokenJSON(token: token, secret: nil))
        }
        // Accepts the id or, as Logflare does, the token string itself. Idempotent.
        group.delete("/access-tokens/:id") { request, context -> Response in
            guard let value = context.parameters.get("id") else { throw Self.notFound }
            let accountID = context.token.accountID
            let token: AccessToken?
            if let id = UUID(uuidString: value) {
                token = try await tokens.find(id: id, accountID: accountID)
            } else if case .success = TokenFormat.check(value) {
                token = try await tokens.find(digest: TokenFormat.digest(of: value), accountID: accountID)
            } else {
                token = nil
            }
            guard let token else { throw Self.notFound }
            try context.token.requireManagement()
            guard try await tokens.revoke(id: token.id, accountID: accountID) else { throw Self.notFound }
            return Response(status: .noContent)
        }
    }
}
