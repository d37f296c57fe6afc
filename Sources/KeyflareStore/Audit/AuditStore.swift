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
    ///   - detail: what else the event carries; each value is cut to `maxDetailBytes`.
    ///   - connection: the connection whose transaction holds the change.
    public static func record(
        _ action: AuditAction, accountID: UUID, actor: AuditActor, targetType: String, targetID: UUID?,
        detail: [String: String]? = nil, on connection: Connection
    ) throws {
        try connection.execute(
            """
            INSERT INTO audit_events (account_id, actor_type, actor_id, action, target_type, target_id, ip, user_agent, detail)
            VALUES (\(accountID), \(actor.kind.rawValue), \(actor.id), \(action.rawValue), \(targetType), \(targetID),
                    \(actor.ip), \(actor.userAgent), \(detail.map(Self.json))::jsonb)
            """
        )
    }

    /// Longest value of a detail field kept, in UTF-8 bytes.
    public static let maxDetailBytes = 2_048

    /// The detail as a JSON object, each value cut on a scalar boundary to `maxDetailBytes` and NUL
    /// dropped (PostgreSQL's text cannot hold it).
    static func json(_ detail: [String: String]) -> String {
        var cut: [String: String] = [:]
        for (key, value) in detail {
            var kept = String.UnicodeScalarView()
            var bytes = 0
            for scalar in value.unicodeScalars where scalar != "\0" {
                bytes += String(scalar).utf8.count
                if bytes > maxDetailBytes { break }
                kept.append(scalar)
            }
            cut[key] = String(kept)
        }
        let data = (try? JSONSerialization.data(withJSONObject: cut, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// A stored detail read back; anything that is not an object of strings reads as nil.
    static func detail(_ text: String?) -> [String: String]? {
        guard let text, let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { return nil }
        return object.compactMapValues { $0 as? String }
    }

    /// A token's tripwire events (canary uses, uses after a roll), newest first: the console's list
    /// of trips.
    /// - Parameters:
    ///   - tokenID: the token.
    ///   - accountID: its account.
    ///   - limit: most events.
    public func trips(tokenID: UUID, accountID: UUID, limit: Int) async throws -> [AuditEvent] {
        let rows = try await pool.query(
            """
            SELECT *, detail::text AS detail_text FROM audit_events
            WHERE account_id = \(accountID) AND target_id = \(tokenID)
              AND action IN ('token.canary_used', 'token.reused_after_roll', 'token.leaked')
            ORDER BY created_at DESC, id DESC LIMIT \(limit)
            """
        ).rows
        return try rows.map(Self.event)
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
                SELECT e.*, e.detail::text AS detail_text FROM audit_events e, audit_events b
                WHERE b.id = \(before) AND b.account_id = \(accountID) AND e.account_id = \(accountID)
                  AND (e.created_at, e.id) < (b.created_at, b.id)
                ORDER BY e.created_at DESC, e.id DESC LIMIT \(limit)
                """
            ).rows
        } else {
            rows = try await pool.query(
                """
                SELECT *, detail::text AS detail_text FROM audit_events WHERE account_id = \(accountID)
                ORDER BY created_at DESC, id DESC LIMIT \(limit)
                """
            ).rows
        }
        return try rows.map(Self.event)
    }

    static func event(_ row: Row) throws -> AuditEvent {
        AuditEvent(
            id: try row.decode("id"), accountID: try row.decode("account_id"),
            actor: AuditActor(
                kind: AuditActor.Kind(rawValue: try row.decode("actor_type")) ?? .operator,
                id: try row.decodeIfPresent("actor_id"), ip: try row.decodeIfPresent("ip"),
                userAgent: try row.decodeIfPresent("user_agent")
            ),
            action: AuditAction(rawValue: try row.decode("action")) ?? .tokenCreated,
            targetType: try row.decodeIfPresent("target_type"), targetID: try row.decodeIfPresent("target_id"),
            createdAt: try row.decode("created_at"), detail: Self.detail(try row.decodeIfPresent("detail_text"))
        )
    }
}
