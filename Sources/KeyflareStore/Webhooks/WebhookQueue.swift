import Foundation
import KeyflareCore
import PQ
import PQServices

/// The delivery queue, as the delivery service works it: claim due deliveries, then record each
/// outcome. A claim takes at most one delivery per webhook, and none of a webhook with an attempt
/// in flight, so one receiver gets about one request at a time (at most one per instance, when
/// instances claim at the same moment): a tenant whose receiver hangs, or who has thousands of
/// events queued, holds at most that many send slots, and every other receiver keeps its turn. A claim is one short statement (`FOR UPDATE SKIP LOCKED`, so instances never wait on
/// each other or take the same row) that moves the row's next attempt to the end of the lease and
/// commits; the request is sent after that, outside any transaction. Only the claimant of an
/// attempt may record its outcome, so a late answer to an attempt whose lease ran out changes
/// nothing.
public struct WebhookQueue: Sendable {
    /// A claimed delivery: everything needed to send it, the secret included (never logged).
    public struct Claim: Sendable {
        /// The webhook.
        public let webhookID: UUID
        /// The event (`Keyflare-Webhook-Id`).
        public let eventID: UUID
        /// This attempt's number, from 1.
        public let attempt: Int
        /// Where to send it.
        public let url: String
        /// The signing key.
        public let secret: String
        /// The JSON body, as sent.
        public let body: [UInt8]
        /// How long ago it was enqueued, as the database measures.
        public let age: Duration
    }

    private let pool: Pool

    /// - Parameters:
    ///   - pool: the database.
    public init(pool: Pool) {
        self.pool = pool
    }

    /// Claims up to `limit` due deliveries for `lease`.
    /// - Parameters:
    ///   - limit: most rows (the free send slots).
    ///   - instanceID: who claims.
    ///   - lease: how long the claim holds; longer than a whole attempt can take.
    public func claim(limit: Int, instanceID: String, lease: Duration) async throws -> [Claim] {
        let leaseMilliseconds = Int(lease.components.seconds * 1000 + lease.components.attoseconds / 1_000_000_000_000_000)
        // The body is built in SQL from the event row, so every attempt of an event sends the same bytes.
        // now() (the statement's start, this being its own transaction), not clock_timestamp(), in
        // the conditions: a volatile function cannot bound an index scan.
        return try await pool.query(
            """
            WITH due AS (
                SELECT d.webhook_id, d.event_id
                FROM webhooks w
                CROSS JOIN LATERAL (
                    SELECT webhook_id, event_id, next_attempt_at FROM webhook_deliveries
                    WHERE webhook_id = w.id AND status = 'pending' AND next_attempt_at <= now()
                    ORDER BY next_attempt_at LIMIT 1
                    FOR UPDATE SKIP LOCKED
                ) d
                WHERE NOT EXISTS (
                    SELECT 1 FROM webhook_deliveries busy
                    WHERE busy.webhook_id = w.id AND busy.claimed_until > now() AND busy.status = 'pending')
                  -- The idle pass (nothing due anywhere) is one probe of the due index, not one per webhook.
                  AND EXISTS (SELECT 1 FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= now())
                ORDER BY d.next_attempt_at LIMIT \(limit)
            )
            UPDATE webhook_deliveries d
            SET attempts = d.attempts + 1, claimed_by = \(instanceID),
                claimed_until = clock_timestamp() + make_interval(secs => \(leaseMilliseconds) / 1000.0),
                next_attempt_at = clock_timestamp() + make_interval(secs => \(leaseMilliseconds) / 1000.0),
                last_attempt_at = clock_timestamp()
            FROM due, webhooks w, webhook_events e
            WHERE d.webhook_id = due.webhook_id AND d.event_id = due.event_id AND w.id = d.webhook_id AND e.id = d.event_id
            RETURNING d.webhook_id, d.event_id, d.attempts, w.url, w.secret,
                      jsonb_build_object('id', e.id, 'type', e.type, 'account_id', e.account_id,
                                         'created_at', to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                                         'data', e.payload)::text AS body,
                      (extract(epoch FROM clock_timestamp() - d.created_at) * 1000)::bigint AS age_ms
            """
        ).rows.map { row in
            Claim(
                webhookID: try row.decode("webhook_id"), eventID: try row.decode("event_id"), attempt: try row.decode("attempts"),
                url: try row.decode("url"), secret: try row.decode("secret"), body: Array(try row.decode("body", as: String.self).utf8),
                age: .milliseconds(try row.decode("age_ms", as: Int64.self)))
        }
    }

    /// Records a 2xx: the delivery is done and never claimed again.
    /// - Parameters:
    ///   - claim: the attempt.
    ///   - instanceID: who claimed it.
    ///   - status: the answer's status.
    /// - Returns: false when the claim was no longer this instance's (the row is gone or re-claimed).
    @discardableResult
    public func delivered(_ claim: Claim, instanceID: String, status: Int) async throws -> Bool {
        try await pool.query(
            """
            UPDATE webhook_deliveries
            SET status = 'delivered', delivered_at = clock_timestamp(), last_status = \(status), last_error = NULL,
                claimed_by = NULL, claimed_until = NULL
            WHERE webhook_id = \(claim.webhookID) AND event_id = \(claim.eventID) AND status = 'pending'
              AND claimed_by = \(instanceID) AND attempts = \(claim.attempt)
            """
        ).affectedRows == 1
    }

    /// Records a failed attempt: due again after `retryIn`, or failed for good.
    /// - Parameters:
    ///   - claim: the attempt.
    ///   - instanceID: who claimed it.
    ///   - status: the answer's status, if there was an answer.
    ///   - error: what went wrong, for the delivery log (cut to 500 bytes).
    ///   - retryIn: the wait before the next attempt; nil to give up.
    @discardableResult
    public func failed(_ claim: Claim, instanceID: String, status: Int?, error: String, retryIn: Duration?) async throws -> Bool {
        let message = Self.cut(error, to: 500)
        let retryMilliseconds = retryIn.map { Int($0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000) }
        return try await pool.query(
            """
            UPDATE webhook_deliveries
            SET status = CASE WHEN \(retryMilliseconds)::bigint IS NULL THEN 'failed' ELSE 'pending' END,
                next_attempt_at = clock_timestamp() + make_interval(secs => coalesce(\(retryMilliseconds)::bigint, 0) / 1000.0),
                last_status = \(status), last_error = \(message), claimed_by = NULL, claimed_until = NULL
            WHERE webhook_id = \(claim.webhookID) AND event_id = \(claim.eventID) AND status = 'pending'
              AND claimed_by = \(instanceID) AND attempts = \(claim.attempt)
            """
        ).affectedRows == 1
    }

    /// A prefix of `text` of at most `bytes` UTF-8 bytes, cut at a character boundary.
    static func cut(_ text: String, to bytes: Int) -> String {
        guard text.utf8.count > bytes else { return text }
        var out = ""
        for character in text {
            guard out.utf8.count + character.utf8.count <= bytes else { break }
            out.append(character)
        }
        return out
    }
}
