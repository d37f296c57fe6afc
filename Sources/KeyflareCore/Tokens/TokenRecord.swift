import Foundation

/// A token as stored, whatever its state: what a lookup by digest returns and what the cache holds.
public struct TokenRecord: Sendable, Equatable {
    /// What the token may do.
    public let token: VerifiedToken
    /// When it was revoked, if it was.
    public let revokedAt: Date?
    /// When it was disabled, if it is (until it is enabled again).
    public let disabledAt: Date?
    /// Whether it is a canary: it grants nothing, and each use is refused as unknown and reported.
    public let canary: Bool
    /// When a roll replaced it, if one did.
    public let rolledAt: Date?

    /// - Parameters:
    ///   - token: scopes, account and expiry.
    ///   - revokedAt: revocation time, if any.
    ///   - disabledAt: when it was disabled, if it is.
    ///   - canary: whether it is a canary.
    ///   - rolledAt: when a roll replaced it.
    public init(token: VerifiedToken, revokedAt: Date?, disabledAt: Date? = nil, canary: Bool = false, rolledAt: Date? = nil) {
        self.token = token
        self.canary = canary
        self.rolledAt = rolledAt
        self.revokedAt = revokedAt
        self.disabledAt = disabledAt
    }

    /// The token if it is usable at `now`, else the 401 that says why.
    ///
    /// A canary, and a rolled token past its grace period, throw a `TokenTripwire` carrying the 401
    /// to answer (for a canary, exactly the unknown token's), so that the caller can report the use.
    /// - Parameters:
    ///   - now: the current time; expiry is checked against it on every use, cached or not.
    public func validate(now: Date) throws -> VerifiedToken {
        if canary {
            // Revoked or not: any other answer would tell the holder the token is real.
            if revokedAt != nil { throw TokenRejection.unknown }
            throw TokenTripwire(kind: .canary, tokenID: token.tokenID, accountID: token.accountID, answer: TokenRejection.unknown)
        }
        let dead: KeyflareError? =
            if revokedAt != nil { TokenRejection.revoked }
            else if let expiresAt = token.expiresAt, expiresAt <= now { TokenRejection.expired }
            else { nil }
        // A rolled token past its grace is a trip even while disabled; otherwise disabled comes
        // before expired, as it always has.
        guard let dead, rolledAt != nil else {
            if revokedAt != nil { throw TokenRejection.revoked }
            if disabledAt != nil { throw TokenRejection.disabled }
            if let dead { throw dead }
            return token
        }
        let refusal = dead
        throw TokenTripwire(kind: .reusedAfterRoll, tokenID: token.tokenID, accountID: token.accountID, answer: refusal)
    }
}
