/// One day's or one hour's request counts of a token.
public struct UsageCount: Sendable, Equatable {
    /// `YYYY-MM-DD` for a day, `YYYY-MM-DDTHH:00Z` for an hour.
    public let label: String
    /// Requests accepted.
    public let requests: Int
    /// Requests refused by the rate limit.
    public let rateLimited: Int

    /// - Parameters:
    ///   - label: the day or hour.
    ///   - requests: requests accepted.
    ///   - rateLimited: requests refused by the rate limit.
    public init(label: String, requests: Int, rateLimited: Int) {
        self.label = label
        self.requests = requests
        self.rateLimited = rateLimited
    }
}
