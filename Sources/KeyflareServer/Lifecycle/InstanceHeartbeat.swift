import Foundation
import KeyflareHTTP
import KeyflareStore
import Logging
import ServiceLifecycle

/// Writes this instance's row in `keyflare_instances` about once a second (its address and whether
/// its token listener is up), so that a revoke knows which instances must acknowledge it; removes
/// the row on a graceful stop, so revokes stop waiting for it at once. A failed write is logged at
/// debug level and tried again a second later: an instance missing for 3 s is simply not waited for.
/// The heartbeat also takes the alerts raised when this instance failed to acknowledge a revoke.
struct InstanceHeartbeat: Service {
    let store: InstanceStore
    let instanceID: String
    let address: String
    let readiness: Readiness
    let interval: Duration
    /// What to do when a revoke found this instance silent: stop trusting the cache and restart the
    /// LISTEN connection.
    let onAlert: @Sendable () async -> Void
    let logger: Logger

    func run() async throws {
        let started = Date()
        var beats = 0
        while !Task.isShuttingDownGracefully {
            do {
                // Once a minute, instances silent for an hour are forgotten.
                let alerts = try await store.heartbeat(
                    id: instanceID, address: address, listening: readiness.isListenerUp, startedAt: started,
                    prune: beats % 60 == 0)
                if alerts > 0 {
                    logger.warning("a revocation was not acknowledged by this instance in time; cache off until the token listener reconnects")
                    await onAlert()
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
        try? await store.leave(id: instanceID)
    }
}
