import Foundation
import KeyflareCore

/// An account as `GET /api/account` (and `keyflare account default-rate-limit`) shows it.
public struct AccountJSON: Encodable, Sendable {
    let account: Account
    let defaultRateLimit: RateLimit?
    let tokenPolicy: TokenLifetimePolicy?
    let tokensOverPolicy: [UUID]

    /// - Parameters:
    ///   - account: the account.
    ///   - defaultRateLimit: its default rate limit, for tokens that set none.
    ///   - tokenPolicy: its token lifetime policy.
    ///   - tokensOverPolicy: live tokens that break it.
    public init(account: Account, defaultRateLimit: RateLimit?, tokenPolicy: TokenLifetimePolicy?, tokensOverPolicy: [UUID]) {
        self.account = account
        self.defaultRateLimit = defaultRateLimit
        self.tokenPolicy = tokenPolicy
        self.tokensOverPolicy = tokensOverPolicy
    }

    struct PolicyJSON: Encodable {
        let policy: TokenLifetimePolicy

        enum CodingKeys: String, CodingKey {
            case maxLifetimeDays = "max_lifetime_days", expiryRequired = "expiry_required"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(policy.maxLifetimeDays, forKey: .maxLifetimeDays)
            try c.encode(policy.expiryRequired, forKey: .expiryRequired)
        }
    }

    enum CodingKeys: String, CodingKey {
        case id, name, defaultRateLimit = "default_rate_limit", tokenPolicy = "token_policy", tokensOverPolicy = "tokens_over_policy"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(account.id.uuidString.lowercased(), forKey: .id)
        try c.encode(account.name, forKey: .name)
        // Written as null when there is none, as the API does.
        try c.encode(defaultRateLimit.map(RateLimitJSON.init), forKey: .defaultRateLimit)
        try c.encode(tokenPolicy.map(PolicyJSON.init), forKey: .tokenPolicy)
        try c.encode(tokensOverPolicy.map { $0.uuidString.lowercased() }, forKey: .tokensOverPolicy)
    }
}
