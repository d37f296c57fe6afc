import Foundation
import KeyflareCore
import PQ
import PQServices

/// Stores ingested events.
public struct EventStore: Sendable {
    private let pool: Pool

    /// - Parameters:
    ///   - pool: the database.
    public init(pool: Pool) {
        self.pool = pool
    }

    /// Inserts one batch in one statement: all of it or none.
    /// - Parameters:
    ///   - batch: the events.
    ///   - sourceID: the target source.
    ///   - accountID: its account.
    public func insert(_ batch: IngestBatch, sourceID: UUID, accountID: UUID) async throws {
        try await insert([(batch, sourceID, accountID)])
    }

    /// Inserts several requests' batches in one statement (group commit uses this). The bodies
    /// travel as one JSON array of the request bodies, exactly as sent, and PostgreSQL splits them
    /// into events and picks each `event_message`; each event's timestamp comes from the flat array,
    /// at its batch's offset. The composite foreign key checks that every event's source belongs to
    /// its account, so a source deleted meanwhile makes the statement fail (23503).
    /// - Parameters:
    ///   - batches: each batch with its source and account.
    public func insert(_ batches: [(batch: IngestBatch, sourceID: UUID, accountID: UUID)]) async throws {
        var accounts: [UUID] = []
        var sources: [UUID] = []
        var shapes: [String] = []
        var mappings: [String] = []
        var added: [String] = []  // "" for none
        var offsets: [Int] = []
        var timestamps: [Date] = []
        var documents = "["
        for (i, item) in batches.enumerated() {
            accounts.append(item.accountID)
            sources.append(item.sourceID)
            shapes.append(item.batch.shape.rawValue)
            mappings.append(item.batch.mapping.rawValue)
            added.append(item.batch.addedFields ?? "")
            offsets.append(timestamps.count)
            timestamps += item.batch.timestamps
            if i > 0 { documents += "," }
            documents += item.batch.json
        }
        documents += "]"
        // Each event gets its request's added fields, is mapped as its route asks (IngestMapping;
        // the integrations' functions are in migrations/0019_ingest_mappings.sql), then its message
        // is picked from `event_message`, `message` or `log_entry`, the first that is a string.
        try await pool.query(
            """
            WITH requests AS (
                SELECT * FROM unnest(\(accounts)::uuid[], \(sources)::uuid[], \(shapes)::text[], \(mappings)::text[], \(offsets)::int[],
                                     \(added)::text[])
                    WITH ORDINALITY AS r (account_id, source_id, shape, mapping, ts_offset, added, n)
            ), documents AS (
                SELECT d.doc, d.n FROM jsonb_array_elements(\(documents)::jsonb) WITH ORDINALITY AS d (doc, n)
            ), sent AS (
                SELECT r.account_id, r.source_id, r.mapping, (\(timestamps)::timestamptz[])[r.ts_offset + e.i] AS ts,
                       CASE WHEN r.added = '' THEN e.value ELSE e.value || r.added::jsonb END AS value
                FROM requests r
                JOIN documents d ON d.n = r.n
                CROSS JOIN LATERAL jsonb_array_elements(
                    CASE r.shape WHEN 'batch' THEN d.doc -> 'batch' WHEN 'single' THEN jsonb_build_array(d.doc) ELSE d.doc END
                ) WITH ORDINALITY AS e (value, i)
            ), mapped AS (
                SELECT e.account_id, e.source_id, e.ts,
                       CASE e.mapping
                           WHEN 'generic_json' THEN jsonb_build_object('message', e.value::text, 'metadata', e.value)
                           WHEN 'vector' THEN CASE
                               WHEN e.value ? 'timestamp' AND e.value ? 'message' THEN
                                   jsonb_build_object('message', e.value -> 'message', 'metadata', e.value - 'message' - 'timestamp',
                                                      'timestamp', e.value -> 'timestamp')
                                   || CASE WHEN e.value ? 'project' THEN jsonb_build_object('project', e.value -> 'project')
                                           ELSE '{}'::jsonb END
                               WHEN e.value ? 'timestamp' THEN
                                   jsonb_build_object('message', (e.value - 'timestamp')::text, 'metadata', e.value - 'timestamp',
                                                      'timestamp', e.value -> 'timestamp')
                               ELSE e.value END
                           WHEN 'vercel' THEN keyflare_ingest.vercel(e.value)
                           WHEN 'netlify' THEN keyflare_ingest.netlify(e.value)
                           WHEN 'github' THEN keyflare_ingest.github(e.value)
                           WHEN 'typecasts' THEN keyflare_ingest.typecast(e.value)
                           ELSE e.value
                       END AS body
                FROM sent e
            )
            INSERT INTO events (account_id, source_id, "timestamp", event_message, body)
            SELECT account_id, source_id, ts,
                   CASE WHEN jsonb_typeof(body -> 'event_message') = 'string' THEN body ->> 'event_message'
                        WHEN jsonb_typeof(body -> 'message') = 'string' THEN body ->> 'message'
                        WHEN jsonb_typeof(body -> 'log_entry') = 'string' THEN body ->> 'log_entry' END,
                   body
            FROM mapped
            """
        )
    }

    /// How many events a source holds (for tests and reports).
    /// - Parameters:
    ///   - sourceID: the source.
    public func count(sourceID: UUID) async throws -> Int {
        try await pool.query("SELECT count(*) AS n FROM events WHERE source_id = \(sourceID)").first!.decode("n")
    }
}
