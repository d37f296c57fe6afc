import Foundation
import KeyflareHTTP
import KeyflareStore
import Logging
import ServiceLifecycle
import Synchronization

/// Writes this instance's row in `keyflare_instances` about once a second (its address and whether
/// its token listener is up), so that a revoke knows which instances must acknowledge it; removes
/// the row on a graceful stop, so revokes stop waiting for it at once.
///
/// Two things make an instance stop trusting its token cache here, beside its listener's own probe:
/// - **An alert.** The heartbeat takes the alerts raised when this instance failed to acknowledge a
///   revoke in time: its LISTEN connection may have stalled without its knowing.
/// - **Its own silence.** Once it has been heard, an instance that cannot write its heartbeat for
///   `fenceAfter` (2 s, less than the 3 s after which revokes stop waiting for it) fences itself: a
///   revoke made meanwhile would not count it, so it must not serve cached tokens either.
/// Either way the cache is off (every token verified against the database) until the listener has
/// reconnected, which `restartListener` forces once the database answers again.
struct InstanceHeartbeat: Service {
    let store: InstanceStore
    let instanceID: String
    let address: String
    let readiness: Readiness
    let interval: Duration
    var fenceAfter: Duration = .seconds(2)
    /// Turns the token cache off.
    let fence: @Sendable () -> Void
    /// Ends the LISTEN connection so that the listener reconnects and trusts the cache again, empty.
    let restartListener: @Sendable () async -> Void
    let logger: Logger

    func run() async throws {
        let started = Date()
        let lastBeat = LastBeat()
        await withDiscardingTaskGroup { group in
            group.addTask {
                var beats = 0
                while !Task.isShuttingDownGracefully && !Task.isCancelled {
                    do {
                        // Once a minute, instances silent for an hour are forgotten.
                        let alerts = try await store.heartbeat(
                            id: instanceID, address: address, listening: readiness.isListenerUp, startedAt: started,
                            prune: beats % 60 == 0)
                        lastBeat.heard()
                        if alerts > 0 {
                            logger.warning(
                                "a revocation was not acknowledged by this instance in time; cache off until the token listener reconnects")
                            fence()
                            readiness.setListener(up: false)
                            await restartListener()
                        }
                    } catch {
                        logger.debug("instance heartbeat failed; trying again", metadata: ["error": "\(error)"])
                    }
                    beats += 1
                    do {
                        try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
                    } catch {
                        break
                    }
                }
            }
            group.addTask {
                var fenced = false
                while !Task.isShuttingDownGracefully && !Task.isCancelled {
                    if let since = lastBeat.since {
                        let silent = since > fenceAfter
                        if silent && !fenced {
                            fenced = true
                            logger.warning("this instance could not write its heartbeat for 2 s; token cache off until the database answers")
                            fence()
                            readiness.setListener(up: false)
                        } else if !silent && fenced {
                            fenced = false
                            logger.info("heartbeat written again; restarting the token listener")
                            await restartListener()
                        }
                    }
                    do {
                        try await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(250)) }
                    } catch {
                        break
                    }
                }
            }
        }
        try? await store.leave(id: instanceID)
    }
}

/// When the heartbeat was last written, shared by the writer and the watchdog.
final class LastBeat: Sendable {
    private let last = Mutex<ContinuousClock.Instant?>(nil)

    func heard() { last.withLock { $0 = .now } }

    /// Time since the last heartbeat; nil before the first.
    var since: Duration? { last.withLock { $0.map { .now - $0 } } }
}
