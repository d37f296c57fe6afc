import KeyflareCore
import KeyflareHTTP
import KeyflareStore
import Logging
import PQServices
import ServiceLifecycle

/// The lifecycle service that keeps the token cache honest: it runs only the LISTEN connection on
/// `keyflare_tokens`, drops cached tokens as their rows change, and switches the cache off whenever
/// the connection is down (every verification then goes to the database) and back on, empty, once it
/// is listening again.
///
/// It also takes part in confirmed revocation (`RevocationConfirmations`): a confirmation marker on
/// the token channel comes after the change it confirms, so by the time it is handled the token is
/// out of the cache, and the listener acknowledges it on `keyflare_token_acks`; acknowledgements
/// from every instance, this one included, arrive on the same connection for the revoke waiting
/// for them.
///
/// The `Listener` runs as a child task and owns its thread; `run()` returns only after that thread
/// has ended, on graceful shutdown and on cancellation alike.
struct TokenInvalidationListener: Service {
    static let channel = "keyflare_tokens"
    static let channels = [channel, InstanceStore.ackChannel]

    let listener: Listener
    let cache: TokenCache
    let readiness: Readiness
    let metrics: KeyflareMetrics
    let confirmations: RevocationConfirmations
    let acknowledgements = AcknowledgementQueue()
    let instances: InstanceStore
    let instanceID: String
    let logger: Logger

    func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await listener.run() }
            // One sender, in batches: a burst of revokes costs one query per batch, not per marker.
            group.addTask { [acknowledgements, instances, instanceID, logger] in
                await acknowledgements.run { batch in
                    do {
                        try await instances.acknowledge(batch, by: instanceID)
                    } catch {
                        logger.warning("could not acknowledge revocations", metadata: ["error": "\(error)", "count": "\(batch.count)"])
                    }
                }
            }
            var connectedBefore = false
            for await event in listener.events {
                switch event {
                case .connected:
                    cache.trust()
                    readiness.setListener(up: true)
                    if connectedBefore {
                        metrics.recordListenerReconnect()
                        logger.info("token listener reconnected; cache flushed")
                    }
                    connectedBefore = true
                case .disconnected:
                    cache.distrust()
                    readiness.setListener(up: false)
                    logger.warning("token listener down; verifying every token against the database")
                case .notification(let notification) where notification.channel == InstanceStore.ackChannel:
                    confirmations.acknowledged(notification.payload)
                case .notification(let notification):
                    if let nonce = RevocationConfirmations.nonce(ofMarker: notification.payload) {
                        acknowledgements.enqueue(nonce)
                    } else {
                        handle(notification.payload)
                    }
                }
            }
            // The events end when the listener stops; on cancellation they end at once, so make
            // sure the listener stops too (its run() has then returned or is about to).
            listener.stop()
            acknowledgements.finish()
        }
        cache.distrust()
        readiness.setListener(up: false)
    }

    private func handle(_ payload: String) {
        metrics.recordInvalidation()
        if let digest = TokenDigest(hex: payload) {
            cache.invalidate(digest)
        } else {
            // 'flush', or anything unexpected: the safe reading is "drop everything".
            cache.flush()
        }
    }
}
