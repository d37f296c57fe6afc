import Foundation
import KeyflareCore
import PQ
import PQServices

/// The audit log. Writes happen on the caller's connection, inside the transaction of the change
/// they record, so a change and its record commit or roll back together.
public struct AuditStore: AuditLogReading {
    private let pool: Pool

    /// - Parameters:
    ///   - pool: the database.
    public init(pool: Pool) {
        self.pool = pool
    }

    /// Records a change inside the caller's transaction.
    /// - Parameters:
    ///   - action: what happened.
    ///   - accountID: whose.
    ///   - actor: who, from where.
    ///   - targetType: kind of thing changed.
    ///   - targetID: its id.
    ///   - connection: the connection whose transaction holds the change.
    public static func record(
        _ action: AuditAction, accountID: UUID, actor: AuditActor, targetType: String, targetID: UUID?,
        on connection: Connection
    ) throws {
        try connection.execute(
            """
            INSERT INTO audit_events (account_id, actor_type, actor_id, action, target_type, target_id, ip, user_agent)
            VALUES (\(accountID), \(actor.kind.rawValue), \(actor.id), \(action.rawValue), \(targetType), \(targetID),
                    \(actor.ip), \(actor.userAgent))
            """
        )
    }

    /// A page of the account's events, newest first.
    /// - Parameters:
    ///   - accountID: the account.
    ///   - limit: page size.
    ///   - before: only events older than this one (the last id of the previous page).
    public func list(accountID: UUID, limit: Int, before: UUID?) async throws -> [AuditEvent] {
        let rows: [Row]
        if let before {
            rows = try await pool.query(
                """
                SELECT e.* FROM audit_events e, audit_events b
                WHERE b.id = \(before) AND b.account_id = \(accountID) AND e.account_id = \(accountID)
                  AND (e.created_at, e.id) < (b.created_at, b.id)
                ORDER BY e.created_at DESC, e.id DESC LIMIT \(limit)
                """
            ).rows
        } else {
            rows = try await pool.query(
                """
                SELECT * FROM audit_events WHERE account_id = \(accountID)
                ORDER BY created_at DESC, id DESC LIMIT \(limit)
                """
            ).rows
        }
        return try rows.map { row in
            AuditEvent(
                id: try row.decode("id"), accountID: try row.decode("account_id"),
                actor: AuditActor(
                    kind: AuditActor.Kind(rawValue: try row.decode("actor_type")) ?? .operator,
                    id: try row.decodeIfPresent("actor_id"), ip: try row.decodeIfPresent("ip"),
                    userAgent: try row.decodeIfPresent("user_agent")
                ),
                action: AuditAction(rawValue: try row.decode("action")) ?? .tokenCreated,
                targetType: try row.decodeIfPresent("target_type"), targetID: try row.decodeIfPresent("target_id"),
                createdAt: try row.decode("created_at")
            )
        }
    }
}
