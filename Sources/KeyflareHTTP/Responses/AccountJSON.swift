import KeyflareCore

/// An account as `GET /api/account` (and `keyflare account default-rate-limit`) shows it.
public struct AccountJSON: Encodable, Sendable {
    let account: Account
    let defaultRateLimit: RateLimit?

    /// - Parameters:
    ///   - account: the account.
    ///   - defaultRateLimit: its default rate limit, for tokens that set none.
    public init(account: Account, defaultRateLimit: RateLimit?) {
        self.account = account
        self.defaultRateLimit = defaultRateLimit
    }

    enum CodingKeys: String, CodingKey {
        case id, name, defaultRateLimit = "default_rate_limit"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(account.id.uuidString.lowercased(), forKey: .id)
        try c.encode(account.name, forKey: .name)
        // Written as null when there is none, as the API does.
        try c.encode(defaultRateLimit.map(RateLimitJSON.init), forKey: .defaultRateLimit)
    }
}
