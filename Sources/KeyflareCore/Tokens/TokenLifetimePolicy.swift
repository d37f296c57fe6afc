import Foundation

/// An account's rule for how long its tokens may live: a longest lifetime in days, and whether a
/// token must expire at all. Enforced when a token is made (create, import, roll), in the store
/// that makes it, for the API, the console and the CLI alike. Tokens made before the rule stay as
/// they are; the account lists those that break it (`GET /api/account`'s `tokens_over_policy`).
public struct TokenLifetimePolicy: Sendable, Equatable {
    /// The longest lifetime, counted from creation; nil for no limit.
    public let maxLifetimeDays: Int?
    /// Whether every new token must have an expiry (implied by `maxLifetimeDays`).
    public let expiryRequired: Bool

    /// Accepted values of `maxLifetimeDays`: a day to ten years.
    public static let days = 1...3_650

    /// - Parameters:
    ///   - maxLifetimeDays: the longest lifetime, if limited.
    ///   - expiryRequired: whether new tokens must expire.
    public init(maxLifetimeDays: Int?, expiryRequired: Bool) {
        self.maxLifetimeDays = maxLifetimeDays
        self.expiryRequired = expiryRequired || maxLifetimeDays != nil
    }

    /// Checks values as sent, 422 naming the field.
    /// - Parameters:
    ///   - maxLifetimeDays: days, if given.
    ///   - expiryRequired: the flag, if given.
    public static func validated(maxLifetimeDays: Int?, expiryRequired: Bool?) throws -> TokenLifetimePolicy {
        if let maxLifetimeDays, !days.contains(maxLifetimeDays) {
            throw KeyflareError.unprocessable("token_policy.max_lifetime_days must be a whole number from 1 to 3650")
        }
        guard maxLifetimeDays != nil || expiryRequired == true else {
            throw KeyflareError.unprocessable("token_policy needs max_lifetime_days or expiry_required: true (null removes the policy)")
        }
        return TokenLifetimePolicy(maxLifetimeDays: maxLifetimeDays, expiryRequired: expiryRequired ?? false)
    }

    /// Throws 422 unless a token made `now` with this expiry obeys the policy.
    /// - Parameters:
    ///   - expiresAt: the new token's expiry.
    ///   - now: when it is made.
    public func check(expiresAt: Date?, now: Date = Date()) throws {
        guard let expiresAt else {
            guard !expiryRequired else {
                throw KeyflareError.unprocessable(
                    "this account's token policy requires an expiry"
                        + (maxLifetimeDays.map { " of at most \($0) days: give expires_in or expires_at" } ?? ": give expires_in or expires_at"))
            }
            return
        }
        if let maxLifetimeDays, expiresAt.timeIntervalSince(now) > Double(maxLifetimeDays) * 86_400 + 1 {
            throw KeyflareError.unprocessable("this account's token policy allows tokens to live at most \(maxLifetimeDays) days")
        }
    }
}
