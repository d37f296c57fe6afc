import Foundation
import KeyflareCore

/// Creating and changing endpoints with their rules, for the API, the console and any tool: the SQL
/// is checked in the account's own sandbox before it is stored, so an endpoint that cannot run is
/// refused (422) whichever way it arrives. Reads and deletes go straight to the store.
public struct EndpointCatalog: EndpointManaging {
    /// Where endpoints are stored.
    public let store: EndpointStore
    private let sandbox: QuerySandbox

    /// - Parameters:
    ///   - store: where endpoints are stored.
    ///   - sandbox: the sandbox that checks their SQL.
    public init(store: EndpointStore, sandbox: QuerySandbox) {
        self.store = store
        self.sandbox = sandbox
    }

    /// The account's endpoints, by name.
    /// - Parameters:
    ///   - accountID: the owner.
    public func list(accountID: UUID) async throws -> [Endpoint] {
        try await store.list(accountID: accountID)
    }

    /// An endpoint of the account by id, or else by name.
    /// - Parameters:
    ///   - idOrName: a UUID or a name.
    ///   - accountID: the owner.
    public func find(idOrName: String, accountID: UUID) async throws -> Endpoint? {
        try await store.find(idOrName: idOrName, accountID: accountID)
    }

    /// An endpoint with `enable_auth` false, by id, in any account.
    /// - Parameters:
    ///   - id: endpoint id.
    public func findPublic(id: UUID) async throws -> Endpoint? {
        try await store.findPublic(id: id)
    }

    /// Deletes an endpoint of the account.
    /// - Parameters:
    ///   - id: endpoint id.
    ///   - accountID: the owner.
    ///   - actor: who, for the audit log.
    public func delete(id: UUID, accountID: UUID, actor: AuditActor) async throws -> Bool {
        try await store.delete(id: id, accountID: accountID, actor: actor)
    }

    /// Creates an endpoint whose SQL the account's sandbox accepts.
    /// - Parameters:
    ///   - draft: the endpoint's fields.
    ///   - accountID: the owner.
    ///   - actor: who asked, for the audit log.
    public func create(_ draft: EndpointDraft, accountID: UUID, actor: AuditActor) async throws -> Endpoint {
        try Self.check(draft)
        try await sandbox.validate(draft.sql, accountID: accountID)
        return try await store.create(draft, accountID: accountID, actor: actor)
    }

    /// Changes an endpoint; changed SQL is checked first. Nil when the account has no such endpoint.
    /// - Parameters:
    ///   - existing: the endpoint as it is.
    ///   - draft: its new fields.
    ///   - accountID: the owner.
    ///   - actor: who asked, for the audit log.
    public func update(_ existing: Endpoint, with draft: EndpointDraft, accountID: UUID, actor: AuditActor) async throws -> Endpoint? {
        try Self.check(draft)
        if draft.sql != existing.sql { try await sandbox.validate(draft.sql, accountID: accountID) }
        return try await store.update(id: existing.id, with: draft, accountID: accountID, actor: actor)
    }

    /// A sandboxable endpoint's SQL must be a `WITH …` query: its CTEs are what callers may read.
    static func check(_ draft: EndpointDraft) throws {
        if draft.sandboxable { _ = try SandboxedQuery(endpointSQL: draft.sql) }
    }
}
