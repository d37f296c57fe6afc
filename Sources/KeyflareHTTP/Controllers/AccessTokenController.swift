import Foundation
import Hummingbird
import KeyflareCore

/// `/api/access-tokens`: list, create, show and revoke an account's tokens. Management only.
struct AccessTokenController {
    let tokens: any TokenManaging
    let usage: any TokenUsageReading
    let revocations: RevocationConfirming
    /// Source and endpoint names, for the suggestions' messages.
    let sources: any SourceManaging, endpoints: any EndpointManaging
    static let notFound = KeyflareError.notFound("access token not found")

    /// `POST /api/access-tokens` body. `scopes` is a list or one space-separated string.
    struct CreateRequest: RequestFields {
        static let fields = names(CodingKeys.self)
        let description: String?
        let scopes: [String]?
        let expiresAt: String?
        let expiresIn: Int?
        let allowedIPs: [String]?
        let allowedOrigins: [String]?
        let requireOrigin: Bool?
        let rateLimit: RateLimitFields?
        let canary: Bool?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case description, scopes, expiresAt = "expires_at", expiresIn = "expires_in"
            case allowedIPs = "allowed_ips", allowedOrigins = "allowed_origins", requireOrigin = "require_origin"
            case rateLimit = "rate_limit", canary
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
            allowedIPs = try c.decodeIfPresent([String].self, forKey: .allowedIPs)
            allowedOrigins = try c.decodeIfPresent([String].self, forKey: .allowedOrigins)
            requireOrigin = try c.decodeIfPresent(Bool.self, forKey: .requireOrigin)
            rateLimit = try c.decodeIfPresent(RateLimitFields.self, forKey: .rateLimit)
            canary = try c.decodeIfPresent(Bool.self, forKey: .canary)
        }

        /// The restrictions asked for, validated (422 naming a bad entry).
        func restrictions() throws -> TokenRestrictions {
            try TokenRestrictions(parsing: allowedIPs ?? [], allowedOrigins: allowedOrigins ?? [], requireOrigin: requireOrigin ?? false)
        }

        /// The expiry asked for, checked by the shared rules.
        func expiry(now: Date = Date()) throws -> Date? {
            try TokenExpiry.resolve(expiresAt: expiresAt, expiresIn: expiresIn, now: now)
        }
    }

    /// `"rate_limit": {"requests_per_second", "burst", "events_per_second"}`, checked here so that a
    /// fraction, zero or an absurd value is a 422 naming the field, and an unknown member is refused.
    struct RateLimitFields: Decodable {
        let limit: RateLimit

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        static let names = ["requests_per_second", "burst", "events_per_second"]

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: Key.self)
            if let unknown = c.allKeys.first(where: { !Self.names.contains($0.stringValue) }) {
                throw KeyflareError.unprocessable("unknown field \"rate_limit.\(QueryString.shown(unknown.stringValue))\"")
            }
            func whole(_ name: String) throws -> Int? {
                let key = Key(stringValue: name)
                guard c.contains(key), try !c.decodeNil(forKey: key) else { return nil }
                guard let value = try? c.decode(Double.self, forKey: key), value.rounded() == value, RateLimit.range.contains(Int(exactly: value) ?? 0)
                else {
                    throw KeyflareError.unprocessable("rate_limit.\(name) must be a whole number from 1 to 1000000")
                }
                return Int(value)
            }
            limit = try RateLimit.validated(
                requestsPerSecond: try whole("requests_per_second"), burst: try whole("burst"), eventsPerSecond: try whole("events_per_second"))
        }
    }

    /// `PATCH /api/access-tokens/{id}` body: every field optional, a list replaces the old one.
    struct UpdateRequest: RequestFields {
        static let fields = names(CodingKeys.self)
        let description: String?
        let allowedIPs: [String]?
        let allowedOrigins: [String]?
        let requireOrigin: Bool?
        /// nil: unchanged; `.some(nil)`: removed (`"rate_limit": null`).
        let rateLimit: RateLimit??

        enum CodingKeys: String, CodingKey, CaseIterable {
            case description, allowedIPs = "allowed_ips", allowedOrigins = "allowed_origins", requireOrigin = "require_origin"
            case rateLimit = "rate_limit"
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            description = try c.decodeIfPresent(String.self, forKey: .description)
            allowedIPs = try c.decodeIfPresent([String].self, forKey: .allowedIPs)
            allowedOrigins = try c.decodeIfPresent([String].self, forKey: .allowedOrigins)
            requireOrigin = try c.decodeIfPresent(Bool.self, forKey: .requireOrigin)
            if !c.contains(.rateLimit) {
                rateLimit = nil
            } else if try c.decodeNil(forKey: .rateLimit) {
                rateLimit = .some(nil)
            } else {
                rateLimit = .some(try c.decode(RateLimitFields.self, forKey: .rateLimit).limit)
            }
        }

        /// The restrictions after this change, or nil when it changes none.
        func restrictions(over current: TokenRestrictions) throws -> TokenRestrictions? {
            guard allowedIPs != nil || allowedOrigins != nil || requireOrigin != nil else { return nil }
            return try TokenRestrictions(
                parsing: allowedIPs ?? current.allowedIPs.map(\.description),
                allowedOrigins: allowedOrigins ?? current.allowedOrigins.map(\.description),
                requireOrigin: requireOrigin ?? current.requireOrigin)
        }
    }

    /// `POST /api/access-tokens/{id}/roll` body.
    struct RollRequest: RequestFields {
        static let fields = names(CodingKeys.self)
        let graceSeconds: Int?
        let expiresIn: Int?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case graceSeconds = "grace_seconds"
            case expiresIn = "expires_in"
        }
    }

    /// A roll's answer: the new token (secret included, this once) and the old one's new end.
    struct RolledJSON: Encodable {
        let new: TokenJSON
        let old: AccessToken

        struct Previous: Encodable {
            let id: String
            let expiresAt: Date?
            let revokedAt: Date?

            enum CodingKeys: String, CodingKey {
                case id, expiresAt = "expires_at", revokedAt = "revoked_at"
            }

            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(id, forKey: .id)
                try c.encode(expiresAt, forKey: .expiresAt)
                try c.encode(revokedAt, forKey: .revokedAt)
            }
        }

        enum CodingKeys: String, CodingKey {
            case previous
        }

        /// The new token's fields at the top level, as a create answers, plus `previous`.
        func encode(to encoder: any Encoder) throws {
            try new.encode(to: encoder)
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(
                Previous(id: old.id.uuidString.lowercased(), expiresAt: old.expiresAt, revokedAt: old.revokedAt),
                forKey: .previous
            )
        }
    }

    /// `GET /api/access-tokens/{id}/usage`.
    struct UsageJSON: Encodable {
        struct Day: Encodable {
            let day: String
            let requests: Int
            let rateLimited: Int

            enum CodingKeys: String, CodingKey {
                case day, requests, rateLimited = "rate_limited"
            }
        }

        let tokenID: UUID
        let days: [Day]

        enum CodingKeys: String, CodingKey {
            case tokenID = "token_id", days
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(tokenID.uuidString.lowercased(), forKey: .tokenID)
            try c.encode(days, forKey: .days)
        }
    }

    /// `?days=`: 1 to 366, default 30.
    static func days(_ text: String?) throws -> Int {
        guard let text else { return 30 }
        guard let days = Int(text), (1...366).contains(days) else {
            throw KeyflareError.badRequest("days must be a whole number from 1 to 366")
        }
        return days
    }

    struct ApplyRequest: RequestFields {
        static let fields: Set<String> = ["scopes"]
        let scopes: [String]
    }

    /// `{"token_id", "suggestions": [{"kind", "message", "scopes", "applicable"}]}`.
    struct SuggestionsJSON: Encodable {
        let tokenID: UUID
        let suggestions: [LeastPrivilege.Suggestion]

        enum CodingKeys: String, CodingKey { case tokenID = "token_id", suggestions }
        enum ItemKeys: String, CodingKey { case kind, message, scopes, applicable }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(tokenID.uuidString.lowercased(), forKey: .tokenID)
            var list = c.nestedUnkeyedContainer(forKey: .suggestions)
            for suggestion in suggestions {
                var item = list.nestedContainer(keyedBy: ItemKeys.self)
                try item.encode(suggestion.kind.rawValue, forKey: .kind)
                try item.encode(suggestion.message, forKey: .message)
                try item.encode(suggestion.scopes?.map(\.description), forKey: .scopes)
                try item.encode(suggestion.applicable, forKey: .applicable)
            }
        }
    }

    /// The token's least-privilege suggestions from its last 30 days of use.
    func suggestions(for token: AccessToken, _ context: TokenContext) async throws -> [LeastPrivilege.Suggestion] {
        let uses = try await usage.uses(tokenID: token.id, days: LeastPrivilege.windowDays)
        var names: [UUID: String] = [:]
        for source in try await sources.list(accountID: context.token.accountID) { names[source.id] = source.name }
        for endpoint in try await endpoints.list(accountID: context.token.accountID) { names[endpoint.id] = endpoint.name }
        return LeastPrivilege.suggest(token, uses: uses, names: names)
    }

    func addRoutes(to group: RouterGroup<TokenContext>) {
        let routes = ManagementRoutes(group: group)
        routes.on("/access-tokens", method: .get, query: ["include_revoked"]) { request, context -> Response in
            let includeRevoked = QueryString(request)["include_revoked"].map { $0 == "true" || $0 == "1" } ?? false
            let list = try await tokens.list(accountID: context.token.accountID, includeRevoked: includeRevoked)
            return try JSONResponse.make(list.map { TokenJSON(token: $0, secret: nil) })
        }
        routes.on("/access-tokens", method: .post) { request, context -> Response in
            let body = try await RequestBody.decode(CreateRequest.self, from: request)
            let scopes = try Scope.parseList(body.scopes ?? ["ingest"])
            // The limit is on the description as sent, counted in Unicode scalars, before trimming.
            guard (body.description ?? "").unicodeScalars.count <= AccessToken.maxDescriptionLength else {
                throw KeyflareError.unprocessable("description must be at most \(AccessToken.maxDescriptionLength) characters")
            }
            let description = (body.description ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            let (token, secret) = try await tokens.create(
                accountID: context.token.accountID, description: description, scopes: scopes,
                expiresAt: try body.expiry(), actor: context.actor(request), restrictions: try body.restrictions(),
                rateLimit: body.rateLimit?.limit, canary: body.canary ?? false
            )
            return try JSONResponse.make(TokenJSON(token: token, secret: secret), status: .created)
        }
        routes.on("/access-tokens/:id/suggestions", method: .get, resolve: find) { _, context, token -> Response in
            try JSONResponse.make(SuggestionsJSON(tokenID: token.id, suggestions: try await suggestions(for: token, context)))
        }
        // Applies a narrowing only: the store refuses scopes that would widen the token.
        routes.on("/access-tokens/:id/suggestions/apply", method: .post, resolve: find) { request, context, token -> Response in
            let body = try await RequestBody.decode(ApplyRequest.self, from: request)
            let scopes = try Scope.parseList(body.scopes)
            guard let narrowed = try await tokens.narrowScopes(
                id: token.id, accountID: context.token.accountID, to: scopes, actor: context.actor(request))
            else { throw Self.notFound }
            return try JSONResponse.make(TokenJSON(token: narrowed, secret: nil))
        }
        routes.on("/access-tokens/:id", method: .get, resolve: find) { _, _, token -> Response in
            try JSONResponse.make(TokenJSON(token: token, secret: nil))
        }
        // Accepts the id or, as Logflare does, the token string itself. Idempotent.
        // 204 as Logflare answers; whether every live instance has dropped the token is in the
        // Keyflare-Revocation header.
        routes.on("/access-tokens/:id", method: .delete, resolve: findByIDOrSecret) { request, context, token -> Response in
            let (revoked, confirmation) = try await revocations.run { nonce in
                try await tokens.revoke(
                    id: token.id, accountID: context.token.accountID, actor: context.actor(request), confirmation: nonce)
            }
            guard revoked else { throw Self.notFound }
            var response = Response(status: .noContent)
            if let confirmation { response.headers[RevocationConfirming.header] = confirmation }
            return response
        }
        routes.on("/access-tokens/:id", method: .patch, resolve: find) { request, context, current -> Response in
            let body = try await RequestBody.decode(UpdateRequest.self, from: request)
            guard (body.description ?? "").unicodeScalars.count <= AccessToken.maxDescriptionLength else {
                throw KeyflareError.unprocessable("description must be at most \(AccessToken.maxDescriptionLength) characters")
            }
            guard let updated = try await tokens.update(
                id: current.id, accountID: context.token.accountID,
                description: body.description.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) },
                restrictions: try body.restrictions(over: current.restrictions), rateLimit: body.rateLimit,
                actor: context.actor(request)
            ) else { throw Self.notFound }
            return try JSONResponse.make(TokenJSON(token: updated, secret: nil))
        }
        for (action, disabled) in [("disable", true), ("enable", false)] {
            routes.on(RouterPath("/access-tokens/:id/\(action)"), method: .post, resolve: find) { request, context, token -> Response in
                // Only disabling needs every instance's word; enabling cannot let anything in early.
                let confirming = disabled ? revocations : .disabled()
                let (changed, confirmation) = try await confirming.run { nonce in
                    try await tokens.setDisabled(
                        disabled, id: token.id, accountID: context.token.accountID, actor: context.actor(request), confirmation: nonce)
                }
                guard let changed else { throw Self.notFound }
                var response = try JSONResponse.make(TokenJSON(token: changed, secret: nil))
                if let confirmation { response.headers[RevocationConfirming.header] = confirmation }
                return response
            }
        }
        routes.on("/access-tokens/:id/roll", method: .post, resolve: find) { request, context, token -> Response in
            let body = try await RequestBody.decode(RollRequest.self, from: request)
            let grace = body.graceSeconds ?? 0
            // Without grace the old token is revoked at once, and confirmed like a revoke.
            let (rolled, confirmation) = try await (grace == 0 ? revocations : .disabled()).run { nonce in
                try await tokens.roll(
                    id: token.id, accountID: context.token.accountID, graceSeconds: grace, expiresIn: body.expiresIn,
                    actor: context.actor(request), confirmation: nonce)
            }
            guard let rolled else { throw Self.notFound }
            var response = try JSONResponse.make(
                RolledJSON(new: TokenJSON(token: rolled.new, secret: rolled.secret), old: rolled.old), status: .created)
            if let confirmation { response.headers[RevocationConfirming.header] = confirmation }
            return response
        }
        routes.on("/access-tokens/:id/usage", method: .get, query: ["days"], resolve: find) { request, _, token -> Response in
            let days = try Self.days(QueryString(request)["days"])
            let series = try await usage.daily(tokenID: token.id, days: days)
            return try JSONResponse.make(
                UsageJSON(tokenID: token.id, days: series.map { .init(day: $0.label, requests: $0.requests, rateLimited: $0.rateLimited) }))
        }
    }

    /// The account's token named by the path's id, or 404 (before the scope check: another account's
    /// token answers like a missing one).
    @Sendable private func find(_ request: Request, _ context: TokenContext) async throws -> AccessToken {
        let id = try request.uuidParameter("id", context: context, notFound: Self.notFound)
        guard let token = try await tokens.find(id: id, accountID: context.token.accountID) else { throw Self.notFound }
        return token
    }

    /// As `find`, or by the token string itself, as Logflare's revoke accepts. For a token string the
    /// scope is checked first: a lookup by secret that answered 403 or 404 would let a public token
    /// guess the account's other tokens, without the failure limit that guards verification.
    @Sendable private func findByIDOrSecret(_ request: Request, _ context: TokenContext) async throws -> AccessToken {
        guard let value = context.parameters.get("id") else { throw Self.notFound }
        if UUID(uuidString: value) != nil { return try await find(request, context) }
        guard let digest = try? TokenRejection.digestIfWellFormed(value) else { throw Self.notFound }
        try context.token.requireManagement()
        guard let token = try await tokens.find(digest: digest, accountID: context.token.accountID) else { throw Self.notFound }
        return token
    }
}
