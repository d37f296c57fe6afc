import Foundation

/// Verifies tokens from the cache when it can, and from the lookup (the database) when it must.
///
/// Order of work: format and checksum (no hashing), SHA-256, cache, and only on a miss the lookup.
/// Expiry and revocation are checked on every use, so a cached token stops working the moment its
/// `expires_at` passes.
public final class CachingTokenVerifier: TokenVerifier {
    /// The cache this verifier fills and reads.
    public let cache: TokenCache
    private let lookup: any TokenLookup
    private let pauseBeforeFill: (@Sendable () async -> Void)?

    /// - Parameters:
    ///   - cache: the in-memory cache.
    ///   - lookup: the source of truth.
    ///   - pauseBeforeFill: runs between the lookup and the cache write; tests use it to force an
    ///     invalidation into that window. Leave nil in production.
    public init(
        cache: TokenCache, lookup: any TokenLookup, pauseBeforeFill: (@Sendable () async -> Void)? = nil
    ) {
        self.cache = cache
        self.lookup = lookup
        self.pauseBeforeFill = pauseBeforeFill
    }

    /// The hot path: format and checksum, SHA-256, then the cache. A cached refusal (unknown,
    /// revoked, expired) is thrown here too; only a token the cache has never seen is a miss.
    public func answer(_ token: String) throws -> TokenAnswer {
        let digest = try TokenRejection.digestIfWellFormed(token)
        guard let entry = cache.get(digest) else { return .miss(digest) }
        return .cached(try Self.validate(entry))
    }

    public func lookUp(_ digest: TokenDigest) async throws -> VerifiedToken {
        // Read before the lookup: an invalidation that lands while we are away changes it, and the
        // stale result is then not stored.
        let generation = cache.generation
        let entry: TokenCache.Entry = try await lookup.lookup(digest).map { .found($0) } ?? .unknown
        if let pauseBeforeFill { await pauseBeforeFill() }
        cache.insert(entry, for: digest, generation: generation)
        return try Self.validate(entry)
    }

    private static func validate(_ entry: TokenCache.Entry) throws -> VerifiedToken {
        switch entry {
        case .found(let record): try record.validate(now: Date())
        case .unknown: throw TokenRejection.unknown
        }
    }
}
