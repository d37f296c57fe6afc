import Foundation
import KeyflareCore

/// Verifies every token with one database lookup by its SHA-256. The format and checksum are checked
/// first, so garbage never reaches the database.
public struct DatabaseTokenVerifier: TokenVerifier {
    private let store: AccessTokenStore

    /// - Parameters:
    ///   - store: where tokens live.
    public init(store: AccessTokenStore) {
        self.store = store
    }

    public func verify(_ token: String) async throws -> VerifiedToken {
        let digest = try TokenRejection.digestIfWellFormed(token)
        guard let (verified, revokedAt) = try await store.lookup(digest: digest) else { throw TokenRejection.unknown }
        if revokedAt != nil { throw TokenRejection.revoked }
        if let expiresAt = verified.expiresAt, expiresAt <= Date() { throw TokenRejection.expired }
        return verified
    }
}
