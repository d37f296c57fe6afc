import Foundation

/// An account's endpoints (saved queries), as the management API changes them (`/api/endpoints`)
/// and the query route finds them. Creating or changing one checks its SQL in the account's sandbox
/// first, so an endpoint that cannot run is refused (422).
public protocol EndpointManaging: Sendable {
    /// The account's endpoints, by name.
    /// - Parameters:
    ///   - accountID: the owner.
    func list(accountID: UUID) async throws -> [Endpoint]

    /// An endpoint of the account by id, or else by name.
    /// - Parameters:
    ///   - idOrName: a UUID or a name.
    ///   - accountID: the owner.
    func find(idOrName: String, accountID: UUID) async throws -> Endpoint?

    /// An endpoint with `enable_auth` false, by id, in any account: what an anonymous caller may run.
    /// - Parameters:
    ///   - id: endpoint id.
    func findPublic(id: UUID) async throws -> Endpoint?

    /// Creates an endpoint whose SQL the account's sandbox accepts.
    /// - Parameters:
    ///   - draft: the endpoint's fields.
    ///   - accountID: the owner.
    ///   - actor: who asked, for the audit log.
    func create(_ draft: EndpointDraft, accountID: UUID, actor: AuditActor) async throws -> Endpoint

    /// Changes an endpoint; changed SQL is checked first. Nil when the account has no such endpoint.
    /// - Parameters:
    ///   - existing: the endpoint as it is.
    ///   - draft: its new fields.
    ///   - accountID: the owner.
    ///   - actor: who asked, for the audit log.
    func update(_ existing: Endpoint, with draft: EndpointDraft, accountID: UUID, actor: AuditActor) async throws -> Endpoint?

    /// Deletes an endpoint of the account.
    /// - Parameters:
    ///   - id: endpoint id.
    ///   - accountID: the owner.
    ///   - actor: who, for the audit log.
    /// - Returns: false when the account has no such endpoint.
    func delete(id: UUID, accountID: UUID, actor: AuditActor) async throws -> Bool
}
