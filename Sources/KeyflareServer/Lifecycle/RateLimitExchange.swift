import Foundation
import KeyflareCore
import KeyflareStore
import Logging
import ServiceLifecycle

/// Every `interval` (250 ms) while this instance's limiter holds rate-limited tokens, tells the other
/// instances what this one is asked for per token and learns what they are, so that each refills its
/// buckets at its share of each limit (`RateLimiter`). Holding none, it only writes its heartbeat row,
/// about once a second (`RateLimitExchangeSchedule`), so an idle instance still counts as alive
/// without writing four times a second. One small transaction on an UNLOGGED table; no request ever
/// waits for it. When the database cannot be reached the last shares stay in force, and an instance
/// that stops exchanging drops out of the others' shares after `RateLimitDemandStore.liveSeconds`.
struct RateLimitExchange: Service {
    let limiter: RateLimiter
    let store: RateLimitDemandStore
    let interval: Duration
    let logger: Logger
    let instanceID = UUID()

    func run() async throws {
        let clock = ContinuousClock()
        var last = clock.now
        var schedule = RateLimitExchangeSchedule(start: last)
        while !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                break
            }
            let now = clock.now
            let elapsed = Double((now - last).components.attoseconds) / 1e18 + Double((now - last).components.seconds)
            last = now
            // Taken every tick, exchanged or not: it also forgets tokens gone quiet, and with none
            // held it is empty, so skipping the exchange loses nothing.
            let demand = limiter.takeDemand(elapsed: elapsed)
            guard schedule.shouldExchange(now: now, holdsTokens: !demand.isEmpty) else { continue }
            do {
                let (others, instances) = try await store.exchange(instanceID: instanceID, demand: demand)
                limiter.setOthers(others)
                limiter.setLiveInstances(instances)
                if schedule.exchanged(at: now) { try await store.prune() }
            } catch {
                logger.debug("rate limit exchange failed; the last shares stay in force", metadata: ["error": "\(error)"])
            }
        }
        try? await store.leave(instanceID: instanceID)
    }
}
