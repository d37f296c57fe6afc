import Foundation

/// Turns a presented secret into what it may do, or a 401 saying why not (malformed, unknown,
/// revoked or expired). Implementations must reject a malformed token before any lookup, and must
/// never log or echo the secret.
public protocol TokenVerifier: Sendable {
    /// Verifies a presented token.
    /// - Parameters:
    ///   - token: the secret as presented.
    func verify(_ token: String) async throws -> VerifiedToken

    /// Verifies a presented token, asking `mayLookUp` before anything that costs a database lookup;
    /// when it says no, the verification fails with `TokenRejection.tooManyFailures`.
    /// - Parameters:
    ///   - token: the secret as presented.
    ///   - mayLookUp: whether this caller may still cost a lookup.
    func verify(_ token: String, mayLookUp: () -> Bool) async throws -> VerifiedToken
}

extension TokenVerifier {
    /// Verifiers without a cache always look up, so they ask first.
    public func verify(_ token: String, mayLookUp: () -> Bool) async throws -> VerifiedToken {
        _ = try TokenRejection.digestIfWellFormed(token)
        guard mayLookUp() else { throw TokenRejection.tooManyFailures }
        return try await verify(token)
    }
}

/// The 401 messages, one per reason, shared by every verifier.
public enum TokenRejection {
    /// No token was presented.
    public static let missing = KeyflareError.unauthorized(
        "missing access token: send Authorization: Bearer <token>, X-API-KEY, or ?api_key=")
    /// The string is not a Keyflare token.
    public static let malformed = KeyflareError.unauthorized("malformed access token")
    /// Its checksum does not match (a typo or truncation).
    public static let badChecksum = KeyflareError.unauthorized("malformed access token: checksum mismatch")
    /// Well-formed but not known.
    public static let unknown = KeyflareError.unauthorized("unknown access token")
    /// Revoked.
    public static let revoked = KeyflareError.unauthorized("access token has been revoked")
    /// Past its expiry.
    public static let expired = KeyflareError.unauthorized("access token has expired")
    /// This client address has failed too many verifications lately; cached tokens still work.
    public static let tooManyFailures = KeyflareError.tooManyRequests(
        "too many failed token verifications from this address; wait a minute and try again")

    /// Checks the format, returning the digest to look up or throwing the 401.
    /// - Parameters:
    ///   - token: the presented string.
    public static func digestIfWellFormed(_ token: String) throws -> TokenDigest {
        switch TokenFormat.check(token) {
        case .success: return TokenFormat.digest(of: token)
        case .failure(.malformed): throw malformed
        case .failure(.badChecksum): throw badChecksum
        }
    }
}
