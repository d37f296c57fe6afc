/// Finds a token by the SHA-256 of its secret (the database, in production).
public protocol TokenLookup: Sendable {
    /// The stored token with this digest, or nil when there is none.
    /// - Parameters:
    ///   - digest: SHA-256 of the presented secret.
    func lookup(_ digest: TokenDigest) async throws -> TokenRecord?
}
