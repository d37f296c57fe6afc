import Foundation

/// Turns a presented secret into what it may do, or a 401 saying why not (malformed, unknown,
/// revoked or expired), in two steps so that a caller can bound the expensive one: `answer` is
/// synchronous and costs no I/O (the format check, the digest, the cache), and only when it says
/// `.miss` does `lookUp` go to the database. Implementations must reject a malformed token before
/// any lookup, and must never log or echo the secret.
public protocol TokenVerifier: Sendable {
    /// The answer the verifier has without any I/O: a verified token, a refusal (thrown), or a miss.
    /// - Parameters:
    ///   - token: the secret as presented.
    func answer(_ token: String) throws -> TokenAnswer

    /// Decides a miss: looks the digest up, remembers the result, and returns the token or throws.
    /// - Parameters:
    ///   - digest: the digest `answer` returned with `.miss`.
    func lookUp(_ digest: TokenDigest) async throws -> VerifiedToken
}

/// What a verifier knows about a token before any I/O.
public enum TokenAnswer: Sendable, Equatable {
    /// Known and valid, from the cache.
    case cached(VerifiedToken)
    /// Well-formed, and only the database can say: pass the digest to `lookUp`.
    case miss(TokenDigest)
}

extension TokenVerifier {
    /// Verifies a presented token, looking it up when the cache cannot answer.
    /// - Parameters:
    ///   - token: the secret as presented.
    public func verify(_ token: String) async throws -> VerifiedToken {
        switch try answer(token) {
        case .cached(let verified): verified
        case .miss(let digest): try await lookUp(digest)
        }
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
    /// Disabled by its account (it can be enabled again).
    public static let disabled = KeyflareError.unauthorized("access token is disabled")
    /// This client address has failed too many verifications lately; cached tokens still work.
    public static let tooManyFailures = KeyflareError.tooManyRequests(
        "too many failed token verifications from this address; wait a minute and try again")

    /// Checks the format, returning the digest to look up or throwing the 401. Keyflare's own
    /// tokens are checked against their checksum; any other string that could be an imported token
    /// (`TokenFormat.isImportable`) is looked up by its digest like them.
    /// - Parameters:
    ///   - token: the presented string.
    public static func digestIfWellFormed(_ token: String) throws -> TokenDigest {
        switch TokenFormat.check(token) {
        case .success: return TokenFormat.digest(of: token)
        case .failure(.malformed) where TokenFormat.isImportable(token): return TokenFormat.digest(of: token)
        case .failure(.malformed): throw malformed
        case .failure(.badChecksum): throw badChecksum
        }
    }
}
