import Foundation
import Synchronization

/// A token's rate limit: requests per second with a burst, and for ingest events per second.
public struct RateLimit: Sendable, Equatable {
    /// Sustained requests per second.
    public let requestsPerSecond: Int
    /// Requests that may come at once above the rate (the bucket's size).
    public let burst: Int
    /// Sustained events per second on ingest routes, if limited.
    public let eventsPerSecond: Int?

    /// Accepted values of each field.
    public static let range = 1...1_000_000

    /// - Parameters:
    ///   - requestsPerSecond: sustained rate.
    ///   - burst: bucket size.
    ///   - eventsPerSecond: ingest events per second, if limited.
    public init(requestsPerSecond: Int, burst: Int, eventsPerSecond: Int? = nil) {
        self.requestsPerSecond = requestsPerSecond
        self.burst = burst
        self.eventsPerSecond = eventsPerSecond
    }

    /// Checks values as sent, 422 naming the field.
    /// - Parameters:
    ///   - requestsPerSecond: sustained rate.
    ///   - burst: bucket size (default: the rate, one second's worth).
    ///   - eventsPerSecond: ingest events per second.
    public static func validated(requestsPerSecond: Int?, burst: Int?, eventsPerSecond: Int?) throws -> RateLimit {
        guard let requestsPerSecond else { throw KeyflareError.unprocessable("rate_limit.requests_per_second is required") }
        for (name, value) in [("requests_per_second", requestsPerSecond), ("burst", burst), ("events_per_second", eventsPerSecond)] {
            if let value, !range.contains(value) {
                throw KeyflareError.unprocessable("rate_limit.\(name) must be a whole number from 1 to 1000000")
            }
        }
        return RateLimit(requestsPerSecond: requestsPerSecond, burst: burst ?? requestsPerSecond, eventsPerSecond: eventsPerSecond)
    }
}

/// Per-token rate limits held by one instance, shared with the others through their demand.
///
/// Each limited token has two local token buckets (requests and, if limited, events). An instance
/// alone refills them at the token's full rate. With several instances behind a balancer, each one
/// publishes how much it is being asked for (its demand, requests and events per second) every few
/// hundred milliseconds, and refills at its share of the limit: `limit × mine / (mine + theirs)`.
/// The shares add up to the limit however the balancer spreads the traffic, and a client below the
/// limit gets more than it asks for on every instance, so it is never refused. No request waits
/// for the database: the exchange (`RateLimitExchange`) runs beside the requests.
public final class RateLimiter: Sendable {
    /// The answer for one request.
    public struct Decision: Sendable, Equatable {
        /// Whether it may go on.
        public let allowed: Bool
        /// The token's limit (requests per second, or events per second for an event check).
        public let limit: Int
        /// What is left in the local bucket, in whole units.
        public let remaining: Int
        /// Seconds until the bucket is full again (RateLimit's `t`), at least 1 when refused.
        public let resetSeconds: Int
    }

    struct Bucket {
        var level: Double
        var updated: Double
        /// Units asked for since the last exchange (allowed or not).
        var asked: Double = 0
        /// Demand per second seen here, smoothed.
        var demand: Double = 0
        /// The other instances' demand per second, from the last exchange.
        var others: Double = 0
        /// Whether an exchange has reported the others since this instance first saw the token:
        /// until then the token's traffic is assumed to be spread over every live instance.
        var heard = false

        mutating func refill(now: Double, rate: Double, capacity: Double) {
            level = min(capacity, level + max(0, now - updated) * rate)
            updated = now
        }
    }

    struct Entry {
        var limit: RateLimit
        var requests: Bucket
        var events: Bucket
        var lastSeen: Double
    }

    private let state = Mutex<[UUID: Entry]>([:])
    private let clock: @Sendable () -> Double
    /// Instances seen alive at the last exchange (this one included): a token first used here
    /// starts with its share of the burst, not all of it.
    private let instances = Atomic<Int>(1)

    /// Sets how many instances are alive, this one included.
    /// - Parameters:
    ///   - count: live instances.
    public func setLiveInstances(_ count: Int) { instances.store(max(1, count), ordering: .relaxed) }

    /// - Parameters:
    ///   - clock: seconds on a monotonic clock (tests pass their own).
    public init(clock: @escaping @Sendable () -> Double = RateLimiter.monotonicSeconds) {
        self.clock = clock
    }

    /// Seconds since an arbitrary start, monotonic.
    public static let monotonicSeconds: @Sendable () -> Double = {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    /// The local share of a rate: an even share of the live instances' until the others are heard
    /// from, then all of it when no other instance asks, else in proportion.
    static func share(_ rate: Double, mine: Double, others: Double, heard: Bool = true, live: Double = 1) -> Double {
        guard heard else { return rate / max(live, 1) }
        guard others > 0 else { return rate }
        // An instance that has seen nothing yet still keeps a little, so that its first requests
        // after a quiet spell are not refused before the next exchange.
        return rate * max(mine, rate * 0.05) / (max(mine, rate * 0.05) + others)
    }

    /// Takes one request from the token's bucket.
    /// - Parameters:
    ///   - tokenID: the token.
    ///   - limit: its limit.
    public func admitRequest(_ tokenID: UUID, limit: RateLimit) -> Decision {
        admit(tokenID, limit: limit, cost: 1, events: false)
    }

    /// Takes `count` events from the token's event bucket (ingest); allowed when it has no event limit.
    /// - Parameters:
    ///   - tokenID: the token.
    ///   - limit: its limit.
    ///   - count: events in the request.
    public func admitEvents(_ tokenID: UUID, limit: RateLimit, count: Int) -> Decision {
        guard limit.eventsPerSecond != nil else { return Decision(allowed: true, limit: 0, remaining: 0, resetSeconds: 0) }
        return admit(tokenID, limit: limit, cost: Double(count), events: true)
    }

    private func admit(_ tokenID: UUID, limit: RateLimit, cost: Double, events: Bool) -> Decision {
        let now = clock()
        return state.withLock { table in
            let live = Double(instances.load(ordering: .relaxed))
            func fresh() -> Entry {
                Entry(
                    limit: limit, requests: Bucket(level: Double(limit.burst) / live, updated: now),
                    events: Bucket(level: Double(limit.eventsPerSecond ?? 0) / live, updated: now), lastSeen: now)
            }
            var entry = table[tokenID] ?? fresh()
            // A changed limit starts at its new size.
            if entry.limit != limit { entry = fresh() }
            entry.lastSeen = now
            let rate = Double(events ? limit.eventsPerSecond ?? 0 : limit.requestsPerSecond)
            var bucket = events ? entry.events : entry.requests
            let localRate = Self.share(rate, mine: bucket.demand, others: bucket.others, heard: bucket.heard, live: live)
            // The bucket's size is this instance's share of the burst (of one second of events for
            // the event bucket), so that the instances' buckets together hold one burst.
            let capacity = (events ? rate : Double(limit.burst)) * localRate / rate
            bucket.refill(now: now, rate: localRate, capacity: capacity)
            bucket.asked += cost
            // A batch larger than the whole bucket could never fit: it goes when the bucket is
            // full, leaving it in debt, so the rate over time still holds.
            let allowed = bucket.level >= min(cost, capacity)
            if allowed { bucket.level -= cost }
            let missing = capacity - bucket.level
            let reset = localRate > 0 ? missing / localRate : 1
            let decision = Decision(
                allowed: allowed, limit: Int(rate), remaining: max(0, Int(bucket.level)),
                resetSeconds: allowed ? Int(reset.rounded(.up)) : max(1, Int(((cost - bucket.level) / max(localRate, 1e-9)).rounded(.up))))
            if events { entry.events = bucket } else { entry.requests = bucket }
            table[tokenID] = entry
            return decision
        }
    }

    /// What one instance tells the others about one token: its demand, per second.
    public struct Demand: Sendable, Equatable {
        public let tokenID: UUID
        public let requests: Double
        public let events: Double

        public init(tokenID: UUID, requests: Double, events: Double) {
            self.tokenID = tokenID
            self.requests = requests
            self.events = events
        }
    }

    /// The demand seen since the last call, smoothed, for every token used lately; tokens unused for
    /// `idleSeconds` are forgotten.
    /// - Parameters:
    ///   - elapsed: seconds since the last call.
    ///   - idleSeconds: how long an unused token is kept.
    public func takeDemand(elapsed: Double, idleSeconds: Double = 30) -> [Demand] {
        let now = clock()
        return state.withLock { table in
            var out: [Demand] = []
            for (id, var entry) in table {
                if now - entry.lastSeen > idleSeconds {
                    table[id] = nil
                    continue
                }
                for keyPath in [\Entry.requests, \Entry.events] {
                    var bucket = entry[keyPath: keyPath]
                    let observed = bucket.asked / max(elapsed, 0.001)
                    // Quick to rise, a little slower to fall, so that a share follows a burst at once.
                    bucket.demand = observed >= bucket.demand ? observed : 0.5 * bucket.demand + 0.5 * observed
                    bucket.asked = 0
                    entry[keyPath: keyPath] = bucket
                }
                table[id] = entry
                out.append(Demand(tokenID: id, requests: entry.requests.demand, events: entry.events.demand))
            }
            return out
        }
    }

    /// Sets what the other instances ask for each token (tokens missing from `others` ask nothing
    /// elsewhere).
    /// - Parameters:
    ///   - others: the sum of the other live instances' demand per token.
    public func setOthers(_ others: [UUID: (requests: Double, events: Double)]) {
        state.withLock { table in
            for (id, var entry) in table {
                let theirs = others[id]
                entry.requests.others = theirs?.requests ?? 0
                entry.events.others = theirs?.events ?? 0
                entry.requests.heard = true
                entry.events.heard = true
                table[id] = entry
            }
        }
    }
}
