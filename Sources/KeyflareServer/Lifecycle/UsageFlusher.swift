import Foundation
import KeyflareCore
import KeyflareStore
import Logging
import ServiceLifecycle

/// Writes the in-memory usage counts to the database every `interval`, and once more on graceful
/// shutdown (after the HTTP server has stopped, so the last requests are counted). A failed flush
/// puts its counts back to be retried. After its first flush and then once an hour it also deletes hourly counts
/// past their retention.
struct UsageFlusher: Service {
    let counter: UsageCounter
    let store: UsageStore
    let interval: Duration
    let logger: Logger

    func run() async throws {
        var pruned: HourStamp?
        while !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                break
            }
            await flush()
            let hour = HourStamp(Date())
            if pruned != hour {
                do {
                    try await store.prune()
                    pruned = hour
                } catch {
                    logger.warning("usage prune failed; will retry", metadata: ["error": "\(error)"])
                }
            }
        }
        await flush()
    }

    func flush() async {
        let tallies = counter.drain()
        guard !tallies.isEmpty else { return }
        do {
            try await store.flush(tallies)
        } catch {
            counter.restore(tallies)
            logger.warning("usage flush failed; will retry", metadata: ["error": "\(error)"])
        }
    }
}
