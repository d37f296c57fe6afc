import Foundation
import Hummingbird
import NIOCore
import KeyflareCore

/// `GET /api/account` and `GET /api/auth/check`.
struct AccountController {
    let accounts: any AccountManaging

    /// `PATCH /api/account` body: `{"default_rate_limit": {...} | null, "token_policy": {...} | null}`.
    struct UpdateRequest: RequestFields {
        static let fields: Set<String> = ["default_rate_limit", "token_policy"]
        /// nil: unchanged; `.some(nil)`: removed.
        let defaultRateLimit: RateLimit??
        /// nil: unchanged; `.some(nil)`: removed.
        let tokenPolicy: TokenLifetimePolicy??

        enum CodingKeys: String, CodingKey {
            case defaultRateLimit = "default_rate_limit", tokenPolicy = "token_policy"
        }

        /// `{"max_lifetime_days": N, "expiry_required": true}`, each optional, nothing else; a bad
        /// value is a 422 naming the field.
        struct PolicyFields: Decodable {
            let maxLifetimeDays: Int?
            let expiryRequired: Bool?

            static let names: Set<String> = ["max_lifetime_days", "expiry_required"]

            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: AccessTokenController.RateLimitFields.Key.self)
                if let unknown = c.allKeys.first(where: { !Self.names.contains($0.stringValue) }) {
                    throw KeyflareError.unprocessable("unknown field \"token_policy.\(QueryString.shown(unknown.stringValue))\"")
                }
                let days = AccessTokenController.RateLimitFields.Key(stringValue: "max_lifetime_days")
                if c.contains(days), try !c.decodeNil(forKey: days) {
                    guard let value = try? c.decode(Double.self, forKey: days), value.rounded() == value,
                        let whole = Int(exactly: value), TokenLifetimePolicy.days.contains(whole)
                    else { throw KeyflareError.unprocessable("token_policy.max_lifetime_days must be a whole number from 1 to 3650") }
                    maxLifetimeDays = whole
                } else {
                    maxLifetimeDays = nil
                }
                let required = AccessTokenController.RateLimitFields.Key(stringValue: "expiry_required")
                if c.contains(required), try !c.decodeNil(forKey: required) {
                    guard let value = try? c.decode(Bool.self, forKey: required) else {
                        throw KeyflareError.unprocessable("token_policy.expiry_required must be true or false")
                    }
                    expiryRequired = value
                } else {
                    expiryRequired = nil
                }
            }
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            if !c.contains(.defaultRateLimit) {
                defaultRateLimit = nil
            } else if try c.decodeNil(forKey: .defaultRateLimit) {
                defaultRateLimit = .some(nil)
            } else {
                defaultRateLimit = .some(try c.decode(AccessTokenController.RateLimitFields.self, forKey: .defaultRateLimit).limit)
            }
            if !c.contains(.tokenPolicy) {
                tokenPolicy = nil
            } else if try c.decodeNil(forKey: .tokenPolicy) {
                tokenPolicy = .some(nil)
            } else {
                let fields = try c.decode(PolicyFields.self, forKey: .tokenPolicy)
                tokenPolicy = .some(try TokenLifetimePolicy.validated(maxLifetimeDays: fields.maxLifetimeDays, expiryRequired: fields.expiryRequired))
            }
        }
    }

    private func show(_ accountID: UUID) async throws -> Response {
        guard let account = try await accounts.account(id: accountID) else {
            // The token outlived its account (deleted by an operator): it no longer identifies anyone.
            throw TokenRejection.unknown
        }
        let limit = try await accounts.defaultRateLimit(id: accountID)
        let policy = try await accounts.tokenPolicy(id: accountID)
        let over = policy == nil ? [] : try await accounts.tokensOverPolicy(id: accountID, limit: 1_000)
        return try JSONResponse.make(AccountJSON(account: account, defaultRateLimit: limit, tokenPolicy: policy, tokensOverPolicy: over))
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
        let routes = ManagementRoutes(group: group)
        routes.on("/account", method: .get) { _, context -> Response in
            try await show(context.token.accountID)
        }
        routes.on("/account", method: .patch) { request, context -> Response in
            let body = try await RequestBody.decode(UpdateRequest.self, from: request)
            if let limit = body.defaultRateLimit {
                try await accounts.setDefaultRateLimit(limit, id: context.token.accountID, actor: context.actor(request))
            }
            if let policy = body.tokenPolicy {
                try await accounts.setTokenPolicy(policy, id: context.token.accountID, actor: context.actor(request))
            }
            return try await show(context.token.accountID)
        }
        // Any valid token may introspect itself; no scope check, no body read.
        group.get("/auth/check") { _, context -> Response in
            Self.check(context.token)
        }
    }
}
