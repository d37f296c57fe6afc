import Foundation
import KeyflareCore
import PQ
import PQServices

/// Query endpoints in PostgreSQL. Every query is scoped by account, except the lookup of a public
/// endpoint by id, which by design needs no account.
public struct EndpointStore: Sendable {
    private let pool: Pool

    /// - Parameters:
    ///   - pool: the database.
    public init(pool: Pool) {
        self.pool = pool
    }

    static let columns: Query = "id, account_id, name, description, sql, enable_auth, max_limit, sandboxable, created_at, updated_at"
    static let notFound = KeyflareError.notFound("endpoint not found")
    static let duplicate = KeyflareError.conflict("an endpoint with this name already exists")

    /// The account's endpoints, by name.
    /// - Parameters:
    ///   - accountID: the owner.
    public func list(accountID: UUID) async throws -> [Endpoint] {
        try await pool.query(
            "SELECT \(Self.columns) FROM endpoints WHERE account_id = \(accountID) ORDER BY name, id"
        ).rows.map(Self.decode)
    }

    /// An endpoint of the account by id, or else by name.
    /// - Parameters:
    ///   - idOrName: a UUID or a name.
    ///   - accountID: the owner.
    public func find(idOrName: String, accountID: UUID) async throws -> Endpoint? {
        if let id = UUID(uuidString: idOrName),
            let found = try await pool.query(
                "SELECT \(Self.columns) FROM endpoints WHERE id = \(id) AND account_id = \(accountID)"
            ).first
        {
            return try Self.decode(found)
        }
        return try await pool.query(
            "SELECT \(Self.columns) FROM endpoints WHERE name = \(idOrName) AND account_id = \(accountID)"
        ).first.map(Self.decode)
    }

    /// An endpoint with `enable_auth` false, by id, in any account: what an anonymous caller may run.
    /// - Parameters:
    ///   - id: endpoint id.
    public func findPublic(id: UUID) async throws -> Endpoint? {
        try await pool.query(
            "SELECT \(Self.columns) FROM endpoints WHERE id = \(id) AND NOT enable_auth"
        ).first.map(Self.decode)
    }

    /// Creates an endpoint (already validated by the caller, SQL included).
    /// - Parameters:
    ///   - draft: the new endpoint's fields.
    ///   - accountID: the owner.
    ///   - actor: who, for the audit log.
    public func create(_ draft: EndpointDraft, accountID: UUID, actor: AuditActor) async throws -> Endpoint {
        do {
            return try await pool.withTransaction { connection in
                let endpoint = try Self.decode(try connection.execute(
                    """
                    INSERT INTO endpoints (account_id, name, description, sql, enable_auth, max_limit, sandboxable)
                    VALUES (\(accountID), \(draft.name), \(draft.description), \(draft.sql), \(draft.enableAuth), \(draft.maxLimit),
                            \(draft.sandboxable))
                    RETURNING \(Self.columns)
                    """
                ).first!)
                try AuditStore.record(.endpointCreated, accountID: accountID, actor: actor, targetType: "endpoint", targetID: endpoint.id, on: connection)
                return endpoint
            }
        } catch let error as PQError where error.condition == .uniqueViolation {
            throw Self.duplicate
        }
    }

    /// Replaces an endpoint's fields.
    /// - Parameters:
    ///   - id: endpoint id.
    ///   - draft: the new fields.
    ///   - accountID: the owner.
    ///   - actor: who, for the audit log.
    public func update(id: UUID, with draft: EndpointDraft, accountID: UUID, actor: AuditActor) async throws -> Endpoint? {
        do {
            return try await pool.withTransaction { connection in
                guard let row = try connection.execute(
                    """
                    UPDATE endpoints SET name = \(draft.name), description = \(draft.description), sql = \(draft.sql),
                        enable_auth = \(draft.enableAuth), max_limit = \(draft.maxLimit), sandboxable = \(draft.sandboxable),
                        updated_at = now()
                    WHERE id = \(id) AND account_id = \(accountID)
                    RETURNING \(Self.columns)
                    """
                ).first else { return nil }
                try AuditStore.record(.endpointUpdated, accountID: accountID, actor: actor, targetType: "endpoint", targetID: id, on: connection)
                return try Self.decode(row)
            }
        } catch let error as PQError where error.condition == .uniqueViolation {
            throw Self.duplicate
        }
    }

    /// Deletes an endpoint of the account.
    /// - Parameters:
    ///   - id: endpoint id.
    ///   - accountID: the owner.
    ///   - actor: who, for the audit log.
    public func delete(id: UUID, accountID: UUID, actor: AuditActor) async throws -> Bool {
        try await pool.withTransaction { connection in
            guard try connection.execute("DELETE FROM endpoints WHERE id = \(id) AND account_id = \(accountID)").affectedRows == 1
            else { return false }
            try AuditStore.record(.endpointDeleted, accountID: accountID, actor: actor, targetType: "endpoint", targetID: id, on: connection)
            return true
        }
    }

    static func decode(_ row: Row) throws -> Endpoint {
        Endpoint(
            id: try row.decode("id"), accountID: try row.decode("account_id"), name: try row.decode("name"),
            description: try row.decode("description"), sql: try row.decode("sql"),
            enableAuth: try row.decode("enable_auth"), maxLimit: try row.decode("max_limit"),
            createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at"),
            sandboxable: try row.decode("sandboxable")
        )
    }
}
