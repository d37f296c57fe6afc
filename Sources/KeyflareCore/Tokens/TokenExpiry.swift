import Foundation

/// The rules for when a new or rolled token expires, shared by the API, the console and the CLI.
public enum TokenExpiry {
    /// Longest lifetime: 100 years (365-day years), well inside PostgreSQL's timestamp range.
    public static let maxSeconds = 3_153_600_000
    /// The expiry of a token that lives `seconds` from `now`.
    /// - Parameters:
    ///   - seconds: the lifetime; it must be positive.
    ///   - now: the current time.
    public static func after(seconds: Int, now: Date = Date()) throws -> Date {
        guard seconds > 0 else { throw KeyflareError.unprocessable("expires_in must be a positive number of seconds") }
        guard seconds <= maxSeconds else { throw KeyflareError.unprocessable("expires_in must be at most \(maxSeconds) seconds (100 years)") }
        return now.addingTimeInterval(TimeInterval(seconds))
    }

    /// The expiry asked for by an RFC 3339 time or a lifetime in seconds (at most one), or nil for none.
    /// - Parameters:
    ///   - expiresAt: an RFC 3339 timestamp in the future.
    ///   - expiresIn: a positive number of seconds.
    ///   - now: the current time.
    public static func resolve(expiresAt: String?, expiresIn: Int?, now: Date = Date()) throws -> Date? {
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
        return try expiresIn.map { try after(seconds: $0, now: now) }
    }
}
