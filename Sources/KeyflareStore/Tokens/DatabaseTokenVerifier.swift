import Foundation
import KeyflareCore

/// Looks tokens up in `access_tokens` by digest: the `TokenLookup` behind the cache, and on its own
/// an uncached `TokenVerifier` (one database round trip per request).
public struct DatabaseTokenVerifier: TokenVerifier, TokenLookup {
    private let store: AccessTokenStore

    /// - Parameters:
    ///   - store: where tokens live.
    public init(store: AccessTokenStore) {
        self.store = store
    }

    public func lookup(_ digest: TokenDigest) async throws -> TokenRecord? {
        try await store.lookup(digest: digest)
    }

    public func verify(_ token: String) async throws -> VerifiedToken {
        let digest = try TokenRejection.digestIfWellFormed(token)
        guard let record = try await lookup(digest) else { throw TokenRejection.unknown }
        return try record.validate(now: Date())
    }
}
