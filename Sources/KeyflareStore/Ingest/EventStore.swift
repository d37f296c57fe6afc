import Foundation
import KeyflareCore
import PQ

/// Stores ingested events.
public struct EventStore: Sendable {
    private let pool: Pool

    /// - Parameters:
    ///   - pool: the database.
    public init(pool: Pool) {
        self.pool = pool
    }

    /// Inserts a whole batch in one statement: either every event is stored or none is. The source
    /// is re-checked against the account inside the statement (through the composite foreign key), so
    /// a source deleted meanwhile stores nothing.
    /// - Parameters:
    ///   - events: the parsed events.
    ///   - sourceID: the target source.
    ///   - accountID: its account.
    public func insert(_ events: [IngestEvent], sourceID: UUID, accountID: UUID) async throws {
        let timestamps = events.map(\.timestamp)
        let messages = events.map { $0.message ?? "" }
        let hasMessage = events.map { $0.message != nil }
        let bodies = events.map(\.json)
        do {
            try await pool.query(
                """
                INSERT INTO events (account_id, source_id, "timestamp", event_message, body)
                SELECT \(accountID), \(sourceID), e.ts, CASE WHEN e.has THEN e.msg END, e.body
                FROM unnest(\(timestamps)::timestamptz[], \(messages)::text[], \(hasMessage)::bool[], \(bodies)::jsonb[])
                    AS e (ts, msg, has, body)
                """
            )
        } catch let error as PQError where error.sqlState == "23503" {
            throw KeyflareError.notFound("source not found")
        }
    }

    /// How many events a source holds (for tests and reports).
    /// - Parameters:
    ///   - sourceID: the source.
    public func count(sourceID: UUID) async throws -> Int {
        try await pool.query("SELECT count(*) AS n FROM events WHERE source_id = \(sourceID)").first!.decode("n")
    }
}
