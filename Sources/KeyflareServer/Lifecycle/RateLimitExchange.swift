import Foundation
import KeyflareCore
import KeyflareStore
import Logging
import ServiceLifecycle

/// Every `interval` (250 ms), tells the other instances what this one is asked for per rate-limited
/// token and learns what they are, so that each refills its buckets at its share of each limit
/// (`RateLimiter`). One small transaction on an UNLOGGED table; no request ever waits for it. When
/// the database cannot be reached the last shares stay in force, and an instance that stops
/// exchanging drops out of the others' shares after `RateLimitDemandStore.liveSeconds`.
struct RateLimitExchange: Service {
    let limiter: RateLimiter
    let store: RateLimitDemandStore
    let interval: Duration
    let logger: Logger
    let instanceID = UUID()

    func run() async throws {
        let clock = ContinuousClock()
        var last = clock.now
        var rounds = 0
        while !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                break
            }
            let now = clock.now
            let elapsed = Double((now - last).components.attoseconds) / 1e18 + Double((now - last).components.seconds)
            last = now
            let demand = limiter.takeDemand(elapsed: elapsed)
            do {
                let (others, instances) = try await store.exchange(instanceID: instanceID, demand: demand)
                limiter.setOthers(others)
                limiter.setLiveInstances(instances)
                rounds += 1
                if rounds % 240 == 0 { try await store.prune() }
            } catch {
                logger.debug("rate limit exchange failed; the last shares stay in force", metadata: ["error": "\(error)"])
            }
        }
        try? await store.leave(instanceID: instanceID)
    }
}
