import Foundation
import Synchronization

/// Recently seen sources, by account and id, for the ingest path, which would otherwise pay a
/// database round trip per request just to learn that a source exists.
///
/// Staleness is harmless by construction: an entry only says "this id was a source of this account
/// a moment ago", and the insert itself re-checks that through the composite foreign key. A source
/// deleted meanwhile therefore still gets its 404 (and its entry is dropped); only ids are cached,
/// so a rename cannot misroute anything.
public final class SourceCache: Sendable {
    private struct Key: Hashable {
        let accountID: UUID
        let sourceID: UUID
    }

    private let entries = Mutex<[Key: (source: Source, storedAt: ContinuousClock.Instant)]>([:])
    private let lifetime: Duration
    private let maxEntries: Int

    /// - Parameters:
    ///   - lifetime: how long an entry is used.
    ///   - maxEntries: bound on entries; the cache is emptied when it is reached.
    public init(lifetime: Duration = .seconds(5), maxEntries: Int = 10_000) {
        self.lifetime = lifetime
        self.maxEntries = maxEntries
    }

    /// The source, from memory when seen recently, else from `load`.
    /// - Parameters:
    ///   - id: the source id.
    ///   - accountID: the account it must belong to.
    ///   - load: the database lookup.
    public func source(id: UUID, accountID: UUID, load: () async throws -> Source?) async rethrows -> Source? {
        let key = Key(accountID: accountID, sourceID: id)
        let now = ContinuousClock.now
        if let hit = entries.withLock({ $0[key] }), hit.storedAt.duration(to: now) < lifetime { return hit.source }
        guard let source = try await load() else { return nil }
        entries.withLock { entries in
            if entries.count >= maxEntries { entries.removeAll(keepingCapacity: true) }
            entries[key] = (source, now)
        }
        return source
    }

    /// Forgets a source (it was found deleted).
    /// - Parameters:
    ///   - id: the source id.
    ///   - accountID: its account.
    public func forget(id: UUID, accountID: UUID) {
        _ = entries.withLock { $0.removeValue(forKey: Key(accountID: accountID, sourceID: id)) }
    }
}
