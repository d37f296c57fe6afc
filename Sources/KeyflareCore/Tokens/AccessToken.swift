import Foundation

/// A token as listed and shown: everything except the secret, which exists only at creation.
public struct AccessToken: Sendable, Equatable {
    /// Token id.
    public let id: UUID
    /// Owning account.
    public let accountID: UUID
    /// Free text from the creator.
    public let description: String
    /// Canonical scopes.
    public let scopes: [Scope]
    /// Last four characters of the secret.
    public let hint: String
    /// Creation time.
    public let createdAt: Date
    /// When it stops working, if ever.
    public let expiresAt: Date?
    /// When it was revoked, if it was.
    public let revokedAt: Date?
    /// When it was last used, as of the last usage flush.
    public let lastUsedAt: Date?
    /// Requests so far in the current UTC day, as of the last usage flush.
    public let requestsToday: Int
    /// `keyflare` for Keyflare's own format, `imported` for a token of another format.
    public let format: Format
    /// When it was disabled, if it is.
    public let disabledAt: Date?
    /// Where it may be used from.
    public let restrictions: TokenRestrictions
    /// Its own rate limit (nil: the account default applies, if any).
    public let rateLimit: RateLimit?
    /// Whether it is a canary: it grants nothing, and every use is refused as unknown and recorded.
    public let canary: Bool
    /// When a roll replaced it, if one did.
    public let rolledAt: Date?

    /// Where a token's secret came from.
    public enum Format: String, Sendable {
        /// Generated here: `kf_pub_`/`kf_prv_` with a checksum.
        case keyflare
        /// Imported or seeded from a value of another format.
        case imported
    }

    /// - Parameters:
    ///   - id: token id.
    ///   - accountID: owning account.
    ///   - description: free text.
    ///   - scopes: canonical scopes.
    ///   - hint: last four characters.
    ///   - createdAt: creation time.
    ///   - expiresAt: expiry, if any.
    ///   - revokedAt: revocation time, if any.
    ///   - lastUsedAt: last use, if known.
    ///   - requestsToday: requests in the current UTC day.
    ///   - format: where the secret came from.
    ///   - disabledAt: when it was disabled, if it is.
    ///   - restrictions: where it may be used from.
    ///   - rateLimit: its own rate limit.
    ///   - canary: whether it is a canary.
    ///   - rolledAt: when a roll replaced it.
    public init(
        id: UUID, accountID: UUID, description: String, scopes: [Scope], hint: String, createdAt: Date,
        expiresAt: Date?, revokedAt: Date?, lastUsedAt: Date?, requestsToday: Int = 0, format: Format = .keyflare,
        disabledAt: Date? = nil, restrictions: TokenRestrictions = .none, rateLimit: RateLimit? = nil,
        canary: Bool = false, rolledAt: Date? = nil
    ) {
        self.canary = canary
        self.rolledAt = rolledAt
        self.rateLimit = rateLimit
        self.disabledAt = disabledAt
        self.restrictions = restrictions
        self.id = id
        self.accountID = accountID
        self.description = description
        self.scopes = scopes
        self.hint = hint
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
        self.lastUsedAt = lastUsedAt
        self.requestsToday = requestsToday
        self.format = format
    }

    /// True when the token can no longer be used: revoked, or past its expiry.
    /// - Parameters:
    ///   - now: the current time.
    public func isDead(now: Date = Date()) -> Bool {
        revokedAt != nil || (expiresAt.map { $0 <= now } ?? false)
    }

    /// Public or private, from the scopes.
    public var kind: TokenKind { TokenKind(scopes: scopes) }

    /// Longest accepted description, in characters.
    public static let maxDescriptionLength = 500
}
