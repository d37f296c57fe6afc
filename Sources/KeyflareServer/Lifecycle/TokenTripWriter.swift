import Foundation
import KeyflareCore
import KeyflareStore
import Logging
import ServiceLifecycle

/// Writes the trips the request path queued (`TokenTripQueue`) every `interval`, and once more on
/// graceful shutdown. A failed write is logged and dropped: the queue is bounded, and a trip is a
/// report, not a count that must add up.
struct TokenTripWriter: Service {
    let queue: TokenTripQueue
    let store: TokenTripStore
    let interval: Duration
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                break
            }
            await write()
        }
        await write()
    }

    func write() async {
        let (trips, dropped) = queue.take()
        if dropped > 0 {
            logger.warning("token trips dropped: the queue was full", metadata: ["dropped": "\(dropped)"])
        }
        guard !trips.isEmpty else { return }
        for trip in trips {
            logger.warning(
                "\(trip.tripwire.kind == .canary ? "canary token used" : "rolled token used after its grace period")",
                metadata: ["token_id": "\(trip.tripwire.tokenID)", "client": "\(trip.clientIP ?? "-")", "route": "\(trip.route)"])
        }
        do {
            try await store.record(trips)
        } catch {
            logger.error("token trips not recorded", metadata: ["error": "\(error)", "count": "\(trips.count)"])
        }
    }
}
