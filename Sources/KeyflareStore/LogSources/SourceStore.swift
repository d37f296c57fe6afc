import Foundation
import KeyflareCore
import PQ
import PQServices

/// Sources in PostgreSQL. Every query is scoped by account, so another account's source is
/// indistinguishable from one that does not exist.
public struct SourceStore: SourceManaging {
    private let pool: Pool

    /// - Parameters:
    ///   - pool: the database.
    public init(pool: Pool) {
        self.pool = pool
    }

    /// The account's sources, by name.
    /// - Parameters:
    ///   - accountID: the owner.
    public func list(accountID: UUID) async throws -> [Source] {
        try await pool.query(
            "SELECT id, account_id, name, created_at FROM sources WHERE account_id = \(accountID) ORDER BY name, id"
        ).rows.map(Self.decode)
    }

    /// The account's sources with their event counts and newest event times, by name.
    /// - Parameters:
    ///   - accountID: the owner.
    public func listWithStats(accountID: UUID) async throws -> [(source: Source, events: Int, newest: Date?)] {
        try await pool.query(
            """
            SELECT s.id, s.account_id, s.name, s.created_at,
                   (SELECT count(*) FROM events e WHERE e.source_id = s.id) AS events,
                   (SELECT max(e."timestamp") FROM events e WHERE e.source_id = s.id) AS newest
            FROM sources s WHERE s.account_id = \(accountID) ORDER BY s.name, s.id
            """
        ).rows.map { (try Self.decode($0), try $0.decode("events", as: Int.self), try $0.decodeIfPresent("newest", as: Date.self)) }
    }

    /// One source of the account, or nil.
    /// - Parameters:
    ///   - id: source id.
    ///   - accountID: the owner.
    public func find(id: UUID, accountID: UUID) async throws -> Source? {
        try await pool.query(
            "SELECT id, account_id, name, created_at FROM sources WHERE id = \(id) AND account_id = \(accountID)"
        ).first.map(Self.decode)
    }

    /// One source of the account by name, or nil.
    /// - Parameters:
    ///   - name: the exact name.
    ///   - accountID: the owner.
    public func find(name: String, accountID: UUID) async throws -> Source? {
        try await pool.query(
            "SELECT id, account_id, name, created_at FROM sources WHERE name = \(name) AND account_id = \(accountID)"
        ).first.map(Self.decode)
    }

    /// Creates a source; a duplicate name in the account is a conflict.
    /// - Parameters:
    ///   - name: the name (validated).
    ///   - accountID: the owner.
    ///   - actor: who, for the audit log.
    public func create(name: String, accountID: UUID, actor: AuditActor) async throws -> Source {
        let name = try Source.validateName(name)
        do {
            return try await pool.withTransaction { connection in
                let source = try Self.decode(try connection.execute(
                    """
                    INSERT INTO sources (account_id, name) VALUES (\(accountID), \(name))
                    RETURNING id, account_id, name, created_at
                    """
                ).first!)
                try AuditStore.record(.sourceCreated, accountID: accountID, actor: actor, targetType: "source", targetID: source.id, on: connection)
                return source
            }
        } catch let error as PQError where error.condition == .uniqueViolation {
            throw KeyflareError.conflict("a source with this name already exists")
        }
    }

    /// Renames a source of the account.
    /// - Parameters:
    ///   - id: source id.
    ///   - name: the new name (validated).
    ///   - accountID: the owner.
    ///   - actor: who, for the audit log.
    /// - Returns: the renamed source, or nil when the account has no such source.
    public func rename(id: UUID, to name: String, accountID: UUID, actor: AuditActor) async throws -> Source? {
        let name = try Source.validateName(name)
        do {
            return try await pool.withTransaction { connection in
                guard let row = try connection.execute(
                    """
                    UPDATE sources SET name = \(name) WHERE id = \(id) AND account_id = \(accountID)
                    RETURNING id, account_id, name, created_at
                    """
                ).first else { return nil }
                try AuditStore.record(.sourceUpdated, accountID: accountID, actor: actor, targetType: "source", targetID: id, on: connection)
                return try Self.decode(row)
            }
        } catch let error as PQError where error.condition == .uniqueViolation {
            throw KeyflareError.conflict("a source with this name already exists")
        }
    }

    /// Deletes a source of the account and, by cascade, its events.
    /// - Parameters:
    ///   - id: source id.
    ///   - accountID: the owner.
    ///   - actor: who, for the audit log.
    /// - Returns: false when the account has no such source.
    public func delete(id: UUID, accountID: UUID, actor: AuditActor) async throws -> Bool {
        try await pool.withTransaction { connection in
            guard try connection.execute("DELETE FROM sources WHERE id = \(id) AND account_id = \(accountID)").affectedRows == 1
            else { return false }
            try AuditStore.record(.sourceDeleted, accountID: accountID, actor: actor, targetType: "source", targetID: id, on: connection)
            return true
        }
    }

    static func decode(_ row: Row) throws -> Source {
        Source(
            id: try row.decode("id"), accountID: try row.decode("account_id"), name: try row.decode("name"),
            createdAt: try row.decode("created_at")
        )
    }
}
