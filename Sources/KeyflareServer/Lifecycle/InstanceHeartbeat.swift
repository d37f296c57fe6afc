import Foundation
import KeyflareHTTP
import KeyflareStore
import Logging
import ServiceLifecycle

/// Writes this instance's row in `keyflare_instances` about once a second (its address and whether
/// its token listener is up), so that a revoke knows which instances must acknowledge it; removes
/// the row on a graceful stop, so revokes stop waiting for it at once.
///
/// The heartbeat also takes the alerts raised when this instance failed to acknowledge a revoke in
/// time (its LISTEN connection may have stalled without its knowing): the cache is then off (every
/// token verified against the database) until the listener has reconnected, which
/// `restartListener` forces.
struct InstanceHeartbeat: Service {
    let store: InstanceStore
    let instanceID: String
    let address: String
    let readiness: Readiness
    let interval: Duration
    /// Turns the token cache off.
    let fence: @Sendable () -> Void
    /// Ends the LISTEN connection so that the listener reconnects and trusts the cache again, empty.
    let restartListener: @Sendable () async -> Void
    let logger: Logger

    func run() async throws {
        let started = Date()
        await withDiscardingTaskGroup { group in
            group.addTask {
                var beats = 0
                while !Task.isShuttingDownGracefully && !Task.isCancelled {
                    do {
                        // Once a minute, instances silent for an hour are forgotten.
                        let alerts = try await store.heartbeat(
                            id: instanceID, address: address, listening: readiness.isListenerUp, startedAt: started,
                            prune: beats % 60 == 0)
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
        }
        try? await store.leave(id: instanceID)
    }
}
