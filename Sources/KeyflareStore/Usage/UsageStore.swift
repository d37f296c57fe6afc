import Foundation
import KeyflareCore
import PQ
import PQServices

/// Per-token daily request counts.
public struct UsageStore: Sendable {
    private let pool: Pool

    /// - Parameters:
    ///   - pool: the database.
    public init(pool: Pool) {
        self.pool = pool
    }

    /// Adds a batch of tallies to the daily counts and moves `last_used_at` forward, in one
    /// transaction. Counts are added (`requests + excluded.requests`), so any number of instances can
    /// flush concurrently without losing updates. Tallies for tokens deleted meanwhile are dropped.
    /// - Parameters:
    ///   - tallies: what the counter drained.
    public func flush(_ tallies: [UsageCounter.Tally]) async throws {
        guard !tallies.isEmpty else { return }
        let ids = tallies.map(\.tokenID)
        let days = tallies.map(\.day.description)
        let counts = tallies.map(\.requests)
        let limited = tallies.map(\.rateLimited)
        let last = tallies.map(\.lastUsedAt)
        _ = try await pool.withTransaction { connection in
            try connection.execute(
                """
                INSERT INTO token_usage_daily (token_id, day, requests, rate_limited)
                SELECT u.token_id, u.day, u.requests, u.rate_limited
                FROM unnest(\(ids)::uuid[], \(days)::date[], \(counts)::bigint[], \(limited)::bigint[])
                    AS u (token_id, day, requests, rate_limited)
                JOIN access_tokens t ON t.id = u.token_id
                ORDER BY 1, 2
                ON CONFLICT (token_id, day) DO UPDATE SET requests = token_usage_daily.requests + excluded.requests,
                    rate_limited = token_usage_daily.rate_limited + excluded.rate_limited
                """
            )
            // This UPDATE touches only last_used_at, which does not fire the cache-invalidation trigger.
            try connection.execute(
                """
                UPDATE access_tokens t SET last_used_at = greatest(t.last_used_at, u.last)
                FROM (SELECT token_id, max(last) AS last
                      FROM unnest(\(ids)::uuid[], \(last)::timestamptz[]) AS x (token_id, last) GROUP BY token_id) u
                WHERE t.id = u.token_id
                """
            )
        }
    }

    /// Daily counts for one token over the last `days` UTC days (today included), zeros filled in.
    /// - Parameters:
    ///   - tokenID: the token (already known to belong to the caller's account).
    ///   - days: how many days.
    public func daily(tokenID: UUID, days: Int) async throws -> [(day: String, requests: Int)] {
        try await pool.query(
            """
            SELECT d::date::text AS day, coalesce(u.requests, 0) AS requests
            FROM generate_series((now() AT TIME ZONE 'UTC')::date - (\(days) - 1), (now() AT TIME ZONE 'UTC')::date, interval '1 day') AS d
            LEFT JOIN token_usage_daily u ON u.token_id = \(tokenID) AND u.day = d::date
            ORDER BY d
            """
        ).rows.map { (try $0.decode("day", as: String.self), try $0.decode("requests", as: Int.self)) }
    }
}
