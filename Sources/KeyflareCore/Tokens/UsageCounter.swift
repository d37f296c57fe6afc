import Foundation
import Synchronization

/// Requests per token, counted in memory on the request path and drained in batches by a flusher,
/// so that no request pays for a database write.
public final class UsageCounter: Sendable {
    /// What one token did since the last drain, on one UTC day.
    public struct Tally: Sendable, Equatable {
        /// The token.
        public let tokenID: UUID
        /// The UTC day the requests fell on.
        public let day: DayStamp
        /// How many.
        public var requests: Int
        /// The latest of them.
        public var lastUsedAt: Date
        /// Requests refused by the token's rate limit (429), not in `requests`.
        public var rateLimited: Int = 0
    }

    private struct Key: Hashable {
        let tokenID: UUID
        let day: DayStamp
    }

    private let tallies = Mutex<[Key: Tally]>([:])

    /// An empty counter.
    public init() {}

    /// Counts one request.
    /// - Parameters:
    ///   - tokenID: the token that authenticated it.
    ///   - at: when.
    public func record(_ tokenID: UUID, at date: Date = Date()) {
        let key = Key(tokenID: tokenID, day: DayStamp(date))
        tallies.withLock { tallies in
            if tallies[key] != nil {
                tallies[key]!.requests += 1
                if date > tallies[key]!.lastUsedAt { tallies[key]!.lastUsedAt = date }
            } else {
                tallies[key] = Tally(tokenID: tokenID, day: key.day, requests: 1, lastUsedAt: date)
            }
        }
    }

    /// Counts one request refused by the token's rate limit.
    /// - Parameters:
    ///   - tokenID: the token.
    ///   - at: when.
    public func recordRateLimited(_ tokenID: UUID, at date: Date = Date()) {
        let key = Key(tokenID: tokenID, day: DayStamp(date))
        tallies.withLock { tallies in
            if tallies[key] != nil {
                tallies[key]!.rateLimited += 1
            } else {
                tallies[key] = Tally(tokenID: tokenID, day: key.day, requests: 0, lastUsedAt: date, rateLimited: 1)
            }
        }
    }

    /// Takes everything counted so far, leaving the counter empty.
    public func drain() -> [Tally] {
        tallies.withLock { tallies in
            let out = Array(tallies.values)
            // Not keepingCapacity: a burst of many tokens would otherwise pin its table forever.
            tallies = [:]
            return out
        }
    }

    /// Puts tallies back after a failed flush, so that they are retried rather than lost.
    /// - Parameters:
    ///   - tallies: what `drain()` returned.
    public func restore(_ returned: [Tally]) {
        tallies.withLock { tallies in
            for tally in returned {
                let key = Key(tokenID: tally.tokenID, day: tally.day)
                if var existing = tallies[key] {
                    existing.requests += tally.requests
                    existing.rateLimited += tally.rateLimited
                    existing.lastUsedAt = max(existing.lastUsedAt, tally.lastUsedAt)
                    tallies[key] = existing
                } else {
                    tallies[key] = tally
                }
            }
        }
    }

    /// Requests counted but not yet drained (for tests).
    public var pending: Int { tallies.withLock { $0.values.reduce(0) { $0 + $1.requests } } }
}

/// A UTC calendar day, as `YYYY-MM-DD`.
public struct DayStamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Days since 1970-01-01.
    public let daysSinceEpoch: Int

    /// The UTC day a moment falls on.
    /// - Parameters:
    ///   - date: the moment.
    public init(_ date: Date) {
        daysSinceEpoch = Int((date.timeIntervalSince1970 / 86_400).rounded(.down))
    }

    /// `YYYY-MM-DD`, as PostgreSQL's `date` reads it.
    public var description: String {
        let date = Date(timeIntervalSince1970: Double(daysSinceEpoch) * 86_400)
        return String(RFC3339.format(date).prefix(10))
    }

    public static func < (a: DayStamp, b: DayStamp) -> Bool { a.daysSinceEpoch < b.daysSinceEpoch }
}
