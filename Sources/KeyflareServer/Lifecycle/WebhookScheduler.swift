import Foundation
import KeyflareCore
import KeyflareStore
import Logging
import ServiceLifecycle

/// Every `interval`, enqueues the webhook events that come from the clock (expiry warnings,
/// expiry, rate limiting); once an hour, deletes finished events past their retention. Every
/// instance runs it: the events' unique keys make concurrent passes enqueue each event once.
struct WebhookScheduler: Service {
    let schedule: WebhookSchedule
    let interval: Duration
    /// Whether the database is migrated and answering (passes wait for it).
    let ready: @Sendable () -> Bool
    let logger: Logger

    /// Days a finished event (and its delivery log) is kept.
    static let retentionDays = 30

    func run() async throws {
        var pruned: HourStamp?
        while !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                break
            }
            guard ready() else { continue }
            do {
                let enqueued = try await schedule.enqueueDue()
                if enqueued > 0 { logger.debug("webhook events enqueued", metadata: ["deliveries": "\(enqueued)"]) }
                let hour = HourStamp(Date())
                if pruned != hour {
                    _ = try await schedule.prune(olderThanDays: Self.retentionDays)
                    pruned = hour
                }
            } catch {
                logger.warning("webhook schedule pass failed; will retry", metadata: ["error": "\(error)"])
            }
        }
    }
}
