import Foundation

/// A token as stored, whatever its state: what a lookup by digest returns and what the cache holds.
public struct TokenRecord: Sendable, Equatable {
    /// What the token may do.
    public let token: VerifiedToken
    /// When it was revoked, if it was.
    public let revokedAt: Date?
    /// When it was disabled, if it is (until it is enabled again).
    public let disabledAt: Date?

    /// - Parameters:
    ///   - token: scopes, account and expiry.
    ///   - revokedAt: revocation time, if any.
    ///   - disabledAt: when it was disabled, if it is.
    public init(token: VerifiedToken, revokedAt: Date?, disabledAt: Date? = nil) {
        self.token = token
        self.revokedAt = revokedAt
        self.disabledAt = disabledAt
    }

    /// The token if it is usable at `now`, else the 401 that says why.
    /// - Parameters:
    ///   - now: the current time; expiry is checked against it on every use, cached or not.
    public func validate(now: Date) throws -> VerifiedToken {
        if revokedAt != nil { throw TokenRejection.revoked }
        if disabledAt != nil { throw TokenRejection.disabled }
        if let expiresAt = token.expiresAt, expiresAt <= now { throw TokenRejection.expired }
        return token
    }
}
