import Foundation

/// Where ingest hands a parsed batch: it returns only once the events are durable, so a request is
/// answered 200 only for events that are stored.
public protocol EventCommitting: Sendable {
    /// Stores a batch; returns once it is committed.
    /// - Parameters:
    ///   - batch: the events, all for one source.
    ///   - sourceID: the source, already resolved in the account.
    ///   - accountID: its account.
    func insert(_ batch: IngestBatch, sourceID: UUID, accountID: UUID) async throws
}
