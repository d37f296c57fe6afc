import Foundation
import KeyflareCore
import PQ

/// A saved query endpoint, as far as authorization needs it.
public struct EndpointRef: Sendable, Equatable {
    /// Endpoint id.
    public let id: UUID
    /// Unique name within the account.
    public let name: String
    /// False when the endpoint answers without a token.
    public let enableAuth: Bool
}

/// Query endpoints in PostgreSQL, scoped by account.
public struct EndpointStore: Sendable {
    private let pool: Pool

    /// - Parameters:
    ///   - pool: the database.
    public init(pool: Pool) {
        self.pool = pool
    }

    /// Finds an endpoint of the account by id or by name.
    /// - Parameters:
    ///   - idOrName: a UUID or an endpoint name.
    ///   - accountID: the owner.
    public func find(idOrName: String, accountID: UUID) async throws -> EndpointRef? {
        let row: Row?
        if let id = UUID(uuidString: idOrName) {
            row = try await pool.query(
                "SELECT id, name, enable_auth FROM endpoints WHERE id = \(id) AND account_id = \(accountID)"
            ).first
        } else {
            row = try await pool.query(
                "SELECT id, name, enable_auth FROM endpoints WHERE name = \(idOrName) AND account_id = \(accountID)"
            ).first
        }
        guard let row else { return nil }
        return EndpointRef(id: try row.decode("id"), name: try row.decode("name"), enableAuth: try row.decode("enable_auth"))
    }
}
