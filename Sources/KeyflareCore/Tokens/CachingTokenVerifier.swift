import Foundation

/// Counts what the verifier does, for metrics; called on the hot path, so keep it cheap.
public protocol VerificationObserver: Sendable {
    /// A verification was answered from the cache.
    func cacheHit()
    /// A verification went to the database.
    func cacheMiss()
}

/// Verifies tokens from the cache when it can, and from the lookup (the database) when it must.
///
/// Order of work: format and checksum (no hashing), SHA-256, cache, and only on a miss the lookup.
/// Expiry and revocation are checked on every use, so a cached token stops working the moment its
/// `expires_at` passes.
public final class CachingTokenVerifier: TokenVerifier {
    /// The cache this verifier fills and reads.
    public let cache: TokenCache
    private let lookup: any TokenLookup
    private let observer: (any VerificationObserver)?
    private let pauseBeforeFill: (@Sendable () async -> Void)?

    /// - Parameters:
    ///   - cache: the in-memory cache.
    ///   - lookup: the source of truth.
    ///   - observer: metrics, if any.
    ///   - pauseBeforeFill: runs between the lookup and the cache write; tests use it to force an
    ///     invalidation into that window. Leave nil in production.
    public init(
        cache: TokenCache, lookup: any TokenLookup, observer: (any VerificationObserver)? = nil,
        pauseBeforeFill: (@Sendable () async -> Void)? = nil
    ) {
        self.cache = cache
        self.lookup = lookup
        self.observer = observer
        self.pauseBeforeFill = pauseBeforeFill
    }

    /// The synchronous hot path: the answer from the cache, or nil when the database must decide.
    /// A malformed token is rejected here too, before any hashing.
    /// - Parameters:
    ///   - token: the secret as presented.
    public func verifyCached(_ token: String) throws -> VerifiedToken? {
        try fromCache(TokenRejection.digestIfWellFormed(token))
    }

    public func verify(_ token: String) async throws -> VerifiedToken {
        try await verify(token, mayLookUp: { true })
    }

    /// Cached answers (valid tokens and cached refusals alike) never ask `mayLookUp`; only a miss,
    /// which costs a database lookup, does.
    public func verify(_ token: String, mayLookUp: () -> Bool) async throws -> VerifiedToken {
        let digest = try TokenRejection.digestIfWellFormed(token)
        if let verified = try fromCache(digest) { return verified }
        guard mayLookUp() else { throw TokenRejection.tooManyFailures }
        observer?.cacheMiss()
        // Read before the lookup: an invalidation that lands while we are away changes it, and the
        // stale result is then not stored.
        let generation = cache.generation
        let entry: TokenCache.Entry = try await lookup.lookup(digest).map { .found($0) } ?? .unknown
        if let pauseBeforeFill { await pauseBeforeFill() }
        cache.insert(entry, for: digest, generation: generation)
        return try Self.validate(entry)
    }

    private func fromCache(_ digest: TokenDigest) throws -> VerifiedToken? {
        guard let entry = cache.get(digest) else { return nil }
        observer?.cacheHit()
        return try Self.validate(entry)
    }

    private static func validate(_ entry: TokenCache.Entry) throws -> VerifiedToken {
        switch entry {
        case .found(let record): try record.validate(now: Date())
        case .unknown: throw TokenRejection.unknown
        }
    }
}
