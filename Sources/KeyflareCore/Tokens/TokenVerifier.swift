import Foundation

/// Turns a presented secret into what it may do, or a 401 saying why not (malformed, unknown,
/// revoked or expired). Implementations must reject a malformed token before any lookup, and must
/// never log or echo the secret.
public protocol TokenVerifier: Sendable {
    /// Verifies a presented token.
    /// - Parameters:
    ///   - token: the secret as presented.
    func verify(_ token: String) async throws -> VerifiedToken
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
