import Foundation

/// An account's sources, as the management API changes them (`/api/sources`) and ingest resolves
/// them. Every call is scoped by account: another account's source is indistinguishable from a
/// missing one.
public protocol SourceManaging: Sendable {
    /// The account's sources, by name.
    /// - Parameters:
    ///   - accountID: the owner.
    func list(accountID: UUID) async throws -> [Source]

    /// One source of the account, or nil.
    /// - Parameters:
    ///   - id: source id.
    ///   - accountID: the owner.
    func find(id: UUID, accountID: UUID) async throws -> Source?

    /// One source of the account by name, or nil.
    /// - Parameters:
    ///   - name: the exact name.
    ///   - accountID: the owner.
    func find(name: String, accountID: UUID) async throws -> Source?

    /// Creates a source; a duplicate name in the account is a conflict.
    /// - Parameters:
    ///   - name: the name (validated).
    ///   - accountID: the owner.
    ///   - actor: who, for the audit log.
    func create(name: String, accountID: UUID, actor: AuditActor) async throws -> Source

    /// Renames a source of the account.
    /// - Parameters:
    ///   - id: source id.
    ///   - name: the new name (validated).
    ///   - accountID: the owner.
    ///   - actor: who, for the audit log.
    /// - Returns: the renamed source, or nil when the account has no such source.
    func rename(id: UUID, to name: String, accountID: UUID, actor: AuditActor) async throws -> Source?

    /// Deletes a source of the account and its events.
    /// - Parameters:
    ///   - id: source id.
    ///   - accountID: the owner.
    ///   - actor: who, for the audit log.
    /// - Returns: false when the account has no such source.
    func delete(id: UUID, accountID: UUID, actor: AuditActor) async throws -> Bool
}
