import Foundation

/// An account's webhooks, as `/api/webhooks` and the console manage them. Every call is scoped by
/// account: another account's webhook is indistinguishable from a missing one.
public protocol WebhookManaging: Sendable {
    /// The account's webhooks, oldest first.
    /// - Parameters:
    ///   - accountID: the owner.
    func list(accountID: UUID) async throws -> [Webhook]

    /// One webhook of the account, or nil.
    /// - Parameters:
    ///   - id: webhook id.
    ///   - accountID: the owner.
    func find(id: UUID, accountID: UUID) async throws -> Webhook?

    /// Makes a webhook after checking its URL (form and where it resolves) and events.
    /// - Parameters:
    ///   - url: the receiver's URL.
    ///   - events: event names.
    ///   - accountID: the owner.
    ///   - actor: who, for the audit log.
    /// - Returns: the webhook and its signing secret, which is never shown again.
    func create(url: String, events: [String], accountID: UUID, actor: AuditActor) async throws -> (webhook: Webhook, secret: String)

    /// Deletes a webhook of the account, and its pending deliveries with it.
    /// - Parameters:
    ///   - id: webhook id.
    ///   - accountID: the owner.
    ///   - actor: who, for the audit log.
    /// - Returns: false when the account has no such webhook.
    func delete(id: UUID, accountID: UUID, actor: AuditActor) async throws -> Bool

    /// The webhook's deliveries, newest first.
    /// - Parameters:
    ///   - webhookID: the webhook (already resolved in the account).
    ///   - limit: most rows.
    func deliveries(webhookID: UUID, limit: Int) async throws -> [WebhookDelivery]
}
