import Foundation
import KeyflareCore

/// A token as the API (and the CLI) shows it. `token` (the secret) is present only in the answer to
/// a create or a roll.
public struct TokenJSON: Encodable, Sendable {
    let token: AccessToken
    let secret: String?

    /// - Parameters:
    ///   - token: the token.
    ///   - secret: its secret, only right after creation.
    public init(token: AccessToken, secret: String?) {
        self.token = token
        self.secret = secret
    }

    enum CodingKeys: String, CodingKey {
        case id, description, scopes, type, hint, createdAt = "created_at", expiresAt = "expires_at"
        case revokedAt = "revoked_at", lastUsedAt = "last_used_at", requestsToday = "requests_today", secret = "token"
        case format, disabledAt = "disabled_at", allowedIPs = "allowed_ips", allowedOrigins = "allowed_origins"
        case requireOrigin = "require_origin", rateLimit = "rate_limit", canary, rolledAt = "rolled_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(token.id.uuidString.lowercased(), forKey: .id)
        try c.encode(token.description, forKey: .description)
        try c.encode(token.scopes.map(\.description), forKey: .scopes)
        try c.encode(token.kind.rawValue, forKey: .type)
        try c.encode(token.hint, forKey: .hint)
        try c.encode(token.createdAt, forKey: .createdAt)
        // Absent values are written as null, so every token object has the same keys.
        try c.encode(token.expiresAt, forKey: .expiresAt)
        try c.encode(token.revokedAt, forKey: .revokedAt)
        try c.encode(token.lastUsedAt, forKey: .lastUsedAt)
        try c.encode(token.requestsToday, forKey: .requestsToday)
        try c.encode(token.format.rawValue, forKey: .format)
        try c.encode(token.disabledAt, forKey: .disabledAt)
        try c.encode(token.restrictions.allowedIPs.map(\.description), forKey: .allowedIPs)
        try c.encode(token.restrictions.allowedOrigins.map(\.description), forKey: .allowedOrigins)
        try c.encode(token.restrictions.requireOrigin, forKey: .requireOrigin)
        try c.encode(token.rateLimit.map(RateLimitJSON.init), forKey: .rateLimit)
        try c.encode(token.canary, forKey: .canary)
        try c.encode(token.rolledAt, forKey: .rolledAt)
        if let secret { try c.encode(secret, forKey: .secret) }
    }
}

/// A rate limit as the API shows it.
struct RateLimitJSON: Encodable {
    let limit: RateLimit

    enum CodingKeys: String, CodingKey {
        case requestsPerSecond = "requests_per_second", burst, eventsPerSecond = "events_per_second"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(limit.requestsPerSecond, forKey: .requestsPerSecond)
        try c.encode(limit.burst, forKey: .burst)
        try c.encode(limit.eventsPerSecond, forKey: .eventsPerSecond)
    }
}

/// A source as the API shows it.
struct SourceJSON: Encodable {
    let source: Source

    enum CodingKeys: String, CodingKey {
        case id, name, createdAt = "created_at"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(source.id.uuidString.lowercased(), forKey: .id)
        try c.encode(source.name, forKey: .name)
        try c.encode(source.createdAt, forKey: .createdAt)
    }
}
