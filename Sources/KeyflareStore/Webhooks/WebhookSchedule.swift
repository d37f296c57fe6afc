import Foundation
import KeyflareCore
import PQ
import PQServices

/// The events that come from the clock rather than from a change: expiry warnings (7 days and 1
/// day ahead), expiry, and rate limiting (from `token_usage_hourly.rate_limited`, which the usage
/// flush writes). Each event has a unique key (token, type, bucket), so any number of instances
/// may run this at once: one insert wins, and only the winner's rows enqueue deliveries. Only
/// accounts with a webhook for the type get events at all.
public struct WebhookSchedule: Sendable {
    private let pool: Pool

    /// - Parameters:
    ///   - pool: the database.
    public init(pool: Pool) {
        self.pool = pool
    }

    /// Enqueues every event that has fallen due; returns how many it enqueued.
    public func enqueueDue() async throws -> Int {
        var total = 0
        for query in [Self.expiring, Self.expired, Self.rateLimited] {
            total += try await pool.query(query).first?.decode("n", as: Int.self) ?? 0
        }
        return total
    }

    /// Deletes events older than `days` whose deliveries are all finished (or that have none), a
    /// bounded batch at a time; returns how many.
    /// - Parameters:
    ///   - days: retention.
    public func prune(olderThanDays days: Int) async throws -> Int {
        // Batches of 1,000, at most 100 of them a pass: a backlog is worked off over a few hours
        // rather than in one long statement.
        var total = 0
        for _ in 0..<100 {
            let deleted = try await pruneBatch(olderThanDays: days)
            total += deleted
            if deleted < 1000 { break }
        }
        return total
    }

    private func pruneBatch(olderThanDays days: Int) async throws -> Int {
        try await pool.query(
            """
            DELETE FROM webhook_events WHERE id IN (
                SELECT e.id FROM webhook_events e
                WHERE e.created_at < now() - make_interval(days => \(days))
                  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id AND d.status = 'pending')
                LIMIT 1000)
            """
        ).affectedRows
    }

    /// The tail every query shares: insert the events, skip the ones another pass made, and enqueue
    /// one delivery per subscribed webhook for those this statement inserted.
    static func enqueue(_ candidates: String, type: WebhookEventType) -> Query {
        Query(
            unsafeSQL: """
                WITH candidates AS (\(candidates)),
                inserted AS (
                    INSERT INTO webhook_events (account_id, type, token_id, bucket, payload)
                    SELECT c.account_id, '\(type.rawValue)', c.token_id, c.bucket, c.payload FROM candidates c
                    WHERE EXISTS (SELECT 1 FROM webhooks w WHERE w.account_id = c.account_id AND '\(type.rawValue)' = ANY (w.events))
                    ON CONFLICT (token_id, type, bucket) DO NOTHING
                    RETURNING id, account_id
                ),
                deliveries AS (
                    INSERT INTO webhook_deliveries (webhook_id, event_id)
                    SELECT w.id, i.id FROM inserted i JOIN webhooks w ON w.account_id = i.account_id AND '\(type.rawValue)' = ANY (w.events)
                    RETURNING 1
                )
                SELECT count(*) AS n FROM deliveries
                """)
    }

    static let tokenPayload = """
        'token_id', t.id, 'description', t.description, 'hint', t.hint, 'scopes', to_jsonb(t.scopes), 'expires_at', t.expires_at
        """

    /// Live tokens that expire within 7 days (bucket 7d) or 1 day (bucket 1d); a token already within
    /// a day gets only the 1-day warning. The bucket holds the expiry, so a token whose expiry is
    /// moved is warned again for the new one.
    static let expiring = enqueue(
        """
        SELECT t.account_id, t.id AS token_id, b.name || ':' || to_char(t.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS bucket,
               jsonb_build_object(\(tokenPayload), 'warning', b.name) AS payload
        FROM (VALUES ('7d', interval '7 days'), ('1d', interval '1 day')) b (name, ahead)
        JOIN access_tokens t ON t.expires_at > now() AND t.expires_at <= now() + b.ahead
        WHERE t.revoked_at IS NULL AND (b.name = '1d' OR t.expires_at > now() + interval '1 day')
        """, type: .tokenExpiring)

    /// Tokens that expired in the last day (not revoked before): older expiries are not announced
    /// to a webhook made later.
    static let expired = enqueue(
        """
        SELECT t.account_id, t.id AS token_id, to_char(t.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS bucket,
               jsonb_build_object(\(tokenPayload)) AS payload
        FROM access_tokens t
        WHERE t.expires_at <= now() AND t.expires_at > now() - interval '1 day'
          AND (t.revoked_at IS NULL OR t.revoked_at > t.expires_at)
        """, type: .tokenExpired)

    /// Tokens refused by their rate limit in this UTC hour or the last one: once per token and hour.
    static let rateLimited = enqueue(
        """
        SELECT t.account_id, t.id AS token_id, to_char(u.hour AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24') AS bucket,
               jsonb_build_object(\(tokenPayload), 'hour', u.hour, 'rate_limited', u.rate_limited) AS payload
        FROM token_usage_hourly u JOIN access_tokens t ON t.id = u.token_id
        WHERE u.rate_limited > 0 AND u.hour >= date_trunc('hour', now(), 'UTC') - interval '1 hour'
        """, type: .tokenRateLimited)
}
