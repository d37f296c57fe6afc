import Foundation

/// An account's audit log, page by page, as `GET /api/audit-events` reads it.
public protocol AuditLogReading: Sendable {
    /// A page of the account's events, newest first.
    /// - Parameters:
    ///   - accountID: the account.
    ///   - limit: page size.
    ///   - before: only events older than this one (the last id of the previous page).
    func list(accountID: UUID, limit: Int, before: UUID?) async throws -> [AuditEvent]
}
