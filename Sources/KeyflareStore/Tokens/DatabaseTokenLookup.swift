import KeyflareCore

/// Looks tokens up in `access_tokens` by digest: the `TokenLookup` behind the token cache.
public struct DatabaseTokenLookup: TokenLookup {
    private let store: AccessTokenStore

    /// - Parameters:
    ///   - store: where tokens live.
    public init(store: AccessTokenStore) {
        self.store = store
    }

    public func lookup(_ digest: TokenDigest) async throws -> TokenRecord? {
        try await store.lookup(digest: digest)
    }
}
