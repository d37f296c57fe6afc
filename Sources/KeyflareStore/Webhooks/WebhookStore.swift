import Foundation
import KeyflareCore
import PQ
import PQServices

/// Webhooks in PostgreSQL, as the management API and the console see them. Every query is scoped
/// by account, and none of them returns the signing secret (only `create`, once).
public struct WebhookStore: WebhookManaging {
    private let pool: Pool
    private let allowPrivate: Bool
    private let resolver: WebhookHostResolver

    /// - Parameters:
    ///   - pool: the database.
    ///   - allowPrivate: whether URLs may lead to loopback, link-local and private addresses.
    ///   - resolver: where host names are looked up.
    public init(pool: Pool, allowPrivate: Bool, resolver: WebhookHostResolver = .shared) {
        self.pool = pool
        self.allowPrivate = allowPrivate
        self.resolver = resolver
    }

    static let columns: Query = "id, account_id, url, events, created_at"

    /// The account's webhooks, oldest first.
    /// - Parameters:
    ///   - accountID: the owner.
    public func list(accountID: UUID) async throws -> [Webhook] {
        try await pool.query(
            "SELECT \(Self.columns) FROM webhooks WHERE account_id = \(accountID) ORDER BY created_at, id"
        ).rows.map(Self.decode)
    }

    /// One webhook of the account, or nil.
    /// - Parameters:
    ///   - id: webhook id.
    ///   - accountID: the owner.
    public func find(id: UUID, accountID: UUID) async throws -> Webhook? {
        try await pool.query(
            "SELECT \(Self.columns) FROM webhooks WHERE id = \(id) AND account_id = \(accountID)"
        ).first.map(Self.decode)
    }

    /// Makes a webhook; at most `Webhook.maxPerAccount` per account (409 past that).
    /// - Parameters:
    ///   - url: the receiver's URL.
    ///   - events: event names.
    ///   - accountID: the owner.
    ///   - actor: who, for the audit log (`webhook.created`, never the secret).
    public func create(url: String, events: [String], accountID: UUID, actor: AuditActor) async throws -> (webhook: Webhook, secret: String) {
        let types = try WebhookEventType.parse(events)
        let destination = try WebhookDestination(url)
        if !allowPrivate {
            guard let addresses = await resolver.resolve(destination) else {
                throw KeyflareError.unprocessable("url's host \(destination.host) did not resolve in time")
            }
            try destination.check(addresses)
        }
        let secret = WebhookSignature.newSecret()
        let names = types.map(\.rawValue)
        let limit = Webhook.maxPerAccount
        let row: Row? = try await pool.withTransaction { connection in
            // The account row is the lock that makes the count and the insert one step.
            _ = try connection.execute("SELECT id FROM accounts WHERE id = \(accountID) FOR UPDATE")
            let row = try connection.execute(
                """
                INSERT INTO webhooks (account_id, url, events, secret)
                SELECT \(accountID), \(destination.url), \(names), \(secret)
                WHERE (SELECT count(*) FROM webhooks WHERE account_id = \(accountID)) < \(limit)
                RETURNING \(Self.columns)
                """
            ).first
            if let row {
                // The events only: the URL may carry the receiver's own key.
                try AuditStore.record(
                    .webhookCreated, accountID: accountID, actor: actor, targetType: "webhook", targetID: try row.decode("id"),
                    detail: ["events": names.joined(separator: " ")], on: connection)
            }
            return row
        }
        guard let row else { throw KeyflareError.conflict("an account may have at most \(limit) webhooks; delete one first") }
        return (try Self.decode(row), secret)
    }

    /// Deletes a webhook of the account; its deliveries go with it.
    /// - Parameters:
    ///   - id: webhook id.
    ///   - accountID: the owner.
    ///   - actor: who, for the audit log.
    public func delete(id: UUID, accountID: UUID, actor: AuditActor) async throws -> Bool {
        try await pool.withTransaction { connection in
            guard try connection.execute("DELETE FROM webhooks WHERE id = \(id) AND account_id = \(accountID)").affectedRows == 1 else {
                return false
            }
            try AuditStore.record(.webhookDeleted, accountID: accountID, actor: actor, targetType: "webhook", targetID: id, on: connection)
            return true
        }
    }

    /// The webhook's deliveries, newest first.
    /// - Parameters:
    ///   - webhookID: the webhook.
    ///   - limit: most rows.
    public func deliveries(webhookID: UUID, limit: Int) async throws -> [WebhookDelivery] {
        try await pool.query(
            """
            SELECT d.event_id, e.type, e.token_id, d.status, d.attempts, d.last_status, d.last_error, d.created_at,
                   d.last_attempt_at, CASE WHEN d.status = 'pending' THEN d.next_attempt_at END AS next_attempt_at, d.delivered_at
            FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id
            WHERE d.webhook_id = \(webhookID)
            ORDER BY d.created_at DESC, d.event_id DESC LIMIT \(limit)
            """
        ).rows.map { row in
            WebhookDelivery(
                eventID: try row.decode("event_id"),
                type: WebhookEventType(rawValue: try row.decode("type")) ?? .tokenRevoked,
                tokenID: try row.decodeIfPresent("token_id"),
                status: WebhookDelivery.Status(rawValue: try row.decode("status")) ?? .pending,
                attempts: try row.decode("attempts"), lastStatus: try row.decodeIfPresent("last_status"),
                lastError: try row.decodeIfPresent("last_error"), createdAt: try row.decode("created_at"),
                lastAttemptAt: try row.decodeIfPresent("last_attempt_at"), nextAttemptAt: try row.decodeIfPresent("next_attempt_at"),
                deliveredAt: try row.decodeIfPresent("delivered_at"))
        }
    }

    static func decode(_ row: Row) throws -> Webhook {
        Webhook(
            id: try row.decode("id"), accountID: try row.decode("account_id"), url: try row.decode("url"),
            events: try row.decode("events", as: [String].self).compactMap(WebhookEventType.init(rawValue:)),
            createdAt: try row.decode("created_at"))
    }
}
