import Foundation
import KeyflareCore
import Synchronization
import Testing

/// The local token buckets and their shares of a limit held by several instances.
@Suite struct RateLimiterTests {
    final class FakeClock: Sendable {
        let now = Mutex(1000.0)
        func advance(_ seconds: Double) { now.withLock { $0 += seconds } }
    }

    @Test func aBucketRefillsAtTheRateAndHoldsTheBurst() {
        let clock = FakeClock()
        let limiter = RateLimiter(clock: { clock.now.withLock { $0 } })
        let token = UUID()
        let limit = RateLimit(requestsPerSecond: 10, burst: 5)
        let first = (0..<7).map { _ in limiter.admitRequest(token, limit: limit).allowed }
        #expect(first == [true, true, true, true, true, false, false])
        clock.advance(0.35)
        #expect((0..<4).map { _ in limiter.admitRequest(token, limit: limit).allowed } == [true, true, true, false])
        let refused = limiter.admitRequest(token, limit: limit)
        #expect(!refused.allowed && refused.resetSeconds == 1 && refused.limit == 10 && refused.remaining == 0)
        clock.advance(100)
        #expect(limiter.admitRequest(token, limit: limit).remaining == 4, "full again, never past the burst")
    }

    /// Three instances each see a third of a client's 1,000 requests a second against a limit of
    /// 200: with the shares exchanged, together they admit about 200 a second, and a client below
    /// the limit is never refused.
    @Test func sharesAddUpToTheLimitAcrossInstances() {
        func simulate(rate: Double, seconds: Double) -> Double {
            let clock = FakeClock()
            let limiters = (0..<3).map { _ in RateLimiter(clock: { clock.now.withLock { $0 } }) }
            for l in limiters { l.setLiveInstances(3) }
            let token = UUID()
            let limit = RateLimit(requestsPerSecond: 200, burst: 200)
            var accepted = 0
            var sent = 0
            let step = 1 / rate
            var sinceExchange = 0.0
            var t = 0.0
            while t < seconds {
                if limiters[sent % 3].admitRequest(token, limit: limit).allowed { accepted += 1 }
                sent += 1
                clock.advance(step)
                t += step
                sinceExchange += step
                if sinceExchange >= 0.25 {
                    let demands = limiters.map { $0.takeDemand(elapsed: sinceExchange) }
                    for (i, l) in limiters.enumerated() {
                        var others: [UUID: (requests: Double, events: Double)] = [:]
                        for (j, d) in demands.enumerated() where j != i {
                            for one in d { others[one.tokenID, default: (0, 0)].requests += one.requests }
                        }
                        l.setOthers(others)
                    }
                    sinceExchange = 0
                }
            }
            return Double(accepted) / seconds
        }
        let flooded = simulate(rate: 1000, seconds: 10)
        #expect((180...230).contains(flooded), "accepted \(flooded) a second")
        let below = simulate(rate: 150, seconds: 10)
        #expect(below >= 149.9, "a client under the limit was refused: \(below) a second")
    }

    @Test func aBatchLargerThanTheBucketGoesWhenItIsFullAndLeavesDebt() {
        let clock = FakeClock()
        let limiter = RateLimiter(clock: { clock.now.withLock { $0 } })
        let token = UUID()
        let limit = RateLimit(requestsPerSecond: 100, burst: 100, eventsPerSecond: 10)
        #expect(limiter.admitEvents(token, limit: limit, count: 25).allowed)
        #expect(!limiter.admitEvents(token, limit: limit, count: 1).allowed)
        clock.advance(1)
        #expect(!limiter.admitEvents(token, limit: limit, count: 1).allowed, "still paying off the debt")
        clock.advance(2)
        #expect(limiter.admitEvents(token, limit: limit, count: 5).allowed)
        #expect(limiter.admitEvents(UUID(), limit: RateLimit(requestsPerSecond: 1, burst: 1), count: 1_000).allowed, "no event limit")
    }

    @Test func validation() throws {
        #expect(try RateLimit.validated(requestsPerSecond: 5, burst: nil, eventsPerSecond: nil).burst == 5)
        #expect(throws: KeyflareError.self) { try RateLimit.validated(requestsPerSecond: nil, burst: 5, eventsPerSecond: nil) }
        #expect(throws: KeyflareError.self) { try RateLimit.validated(requestsPerSecond: 0, burst: nil, eventsPerSecond: nil) }
        #expect(throws: KeyflareError.self) { try RateLimit.validated(requestsPerSecond: 5, burst: 2_000_000, eventsPerSecond: nil) }
    }
}
