import Foundation
import KeyflareCore
import PQ
import PQServices

/// Per-token daily request counts.
public struct UsageStore: TokenUsageReading {
    private let pool: Pool

    /// - Parameters:
    ///   - pool: the database.
    public init(pool: Pool) {
        self.pool = pool
    }

    /// Distinct client addresses, and origins, kept per token and hour; the rest are counted under
    /// the empty value. Several instances flushing at once may each add a few past it, so the real
    /// bound is this plus `UsageCounter.maxDistinct` per instance.
    public static let maxClientsPerHour = 32
    /// How long hourly counts are kept.
    public static let hourlyRetention = "72 hours"
    /// How long client counts are kept.
    public static let clientRetention = "48 hours"

    /// Adds a batch of tallies to the hourly and daily counts and the client counts, and moves
    /// `last_used_at` forward, in one transaction. Counts are added (`requests + excluded.requests`),
    /// so any number of instances can flush concurrently without losing updates. Tallies for tokens
    /// deleted meanwhile are dropped.
    /// - Parameters:
    ///   - tallies: what the counter drained.
    public func flush(_ tallies: [UsageCounter.Tally]) async throws {
        guard !tallies.isEmpty else { return }
        let ids = tallies.map(\.tokenID)
        let hours = tallies.map(\.hour.description)
        let counts = tallies.map(\.requests)
        let limited = tallies.map(\.rateLimited)
        let last = tallies.map(\.lastUsedAt)
        let clients = Self.clientRows(tallies)
        let (clientIDs, clientHours, kinds, values, clientCounts) = (clients.ids, clients.hours, clients.kinds, clients.values, clients.counts)
        _ = try await pool.withTransaction { connection in
            // Rows in key order, so that concurrent flushes lock them in the same order.
            try connection.execute(
                """
                INSERT INTO token_usage_hourly (token_id, hour, requests, rate_limited)
                SELECT u.token_id, u.hour, u.requests, u.rate_limited
                FROM unnest(\(ids)::uuid[], \(hours)::timestamptz[], \(counts)::bigint[], \(limited)::bigint[])
                    AS u (token_id, hour, requests, rate_limited)
                JOIN access_tokens t ON t.id = u.token_id
                ORDER BY 1, 2
                ON CONFLICT (token_id, hour) DO UPDATE SET requests = token_usage_hourly.requests + excluded.requests,
                    rate_limited = token_usage_hourly.rate_limited + excluded.rate_limited
                """
            )
            try connection.execute(
                """
                INSERT INTO token_usage_daily (token_id, day, requests, rate_limited)
                SELECT u.token_id, (u.hour AT TIME ZONE 'UTC')::date, sum(u.requests), sum(u.rate_limited)
                FROM unnest(\(ids)::uuid[], \(hours)::timestamptz[], \(counts)::bigint[], \(limited)::bigint[])
                    AS u (token_id, hour, requests, rate_limited)
                JOIN access_tokens t ON t.id = u.token_id
                GROUP BY 1, 2
                ORDER BY 1, 2
                ON CONFLICT (token_id, day) DO UPDATE SET requests = token_usage_daily.requests + excluded.requests,
                    rate_limited = token_usage_daily.rate_limited + excluded.rate_limited
                """
            )
            if !clientIDs.isEmpty {
                // A value already counted that hour is added to; a new one only while the token has
                // fewer than maxClientsPerHour values of that kind that hour, else it joins ''.
                try connection.execute(
                    """
                    INSERT INTO token_clients_hourly (token_id, hour, kind, value, requests)
                    SELECT c.token_id, c.hour, c.kind,
                           CASE WHEN c.value = '' OR EXISTS (
                                    SELECT 1 FROM token_clients_hourly k
                                    WHERE (k.token_id, k.hour, k.kind, k.value) = (c.token_id, c.hour, c.kind, c.value))
                                OR (SELECT count(*) FROM token_clients_hourly k
                                    WHERE (k.token_id, k.hour, k.kind) = (c.token_id, c.hour, c.kind)) < \(Self.maxClientsPerHour)
                                THEN c.value ELSE '' END,
                           sum(c.requests)
                    FROM unnest(\(clientIDs)::uuid[], \(clientHours)::timestamptz[], \(kinds)::text[], \(values)::text[],
                                \(clientCounts)::bigint[]) AS c (token_id, hour, kind, value, requests)
                    JOIN access_tokens t ON t.id = c.token_id
                    GROUP BY 1, 2, 3, 4
                    ORDER BY 1, 2, 3, 4
                    ON CONFLICT (token_id, hour, kind, value) DO UPDATE SET requests = token_clients_hourly.requests + excluded.requests
                    """
                )
            }
            let uses = Self.useRows(tallies)
            if !uses.ids.isEmpty {
                try connection.execute(
                    """
                    INSERT INTO token_uses_daily (token_id, day, use, requests)
                    SELECT u.token_id, (u.hour AT TIME ZONE 'UTC')::date, u.use, sum(u.requests)
                    FROM unnest(\(uses.ids)::uuid[], \(uses.hours)::timestamptz[], \(uses.values)::text[], \(uses.counts)::bigint[])
                        AS u (token_id, hour, use, requests)
                    JOIN access_tokens t ON t.id = u.token_id
                    GROUP BY 1, 2, 3
                    ORDER BY 1, 2, 3
                    ON CONFLICT (token_id, day, use) DO UPDATE SET requests = token_uses_daily.requests + excluded.requests
                    """
                )
            }
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

    /// The tallies' client and origin counts as columns for `unnest`.
    private static func clientRows(_ tallies: [UsageCounter.Tally])
        -> (ids: [UUID], hours: [String], kinds: [String], values: [String], counts: [Int])
    {
        var out: (ids: [UUID], hours: [String], kinds: [String], values: [String], counts: [Int]) = ([], [], [], [], [])
        for tally in tallies {
            let addresses = tally.clients.map { (key: $0.key.description, value: $0.value) }
            for (kind, seen) in [("address", addresses), ("origin", tally.origins.map { (key: $0.key, value: $0.value) })] {
                for (value, n) in seen {
                    out.ids.append(tally.tokenID)
                    out.hours.append(tally.hour.description)
                    out.kinds.append(kind)
                    out.values.append(value)
                    out.counts.append(n)
                }
            }
        }
        return out
    }

    /// The tallies' uses as columns for `unnest`.
    private static func useRows(_ tallies: [UsageCounter.Tally]) -> (ids: [UUID], hours: [String], values: [String], counts: [Int]) {
        var out: (ids: [UUID], hours: [String], values: [String], counts: [Int]) = ([], [], [], [])
        for tally in tallies {
            for (use, n) in tally.uses {
                out.ids.append(tally.tokenID)
                out.hours.append(tally.hour.description)
                out.values.append(use.description)
                out.counts.append(n)
            }
        }
        return out
    }

    /// A token's uses over the last `days` UTC days (today included), summed per use.
    /// - Parameters:
    ///   - tokenID: the token.
    ///   - days: how far back.
    public func uses(tokenID: UUID, days: Int) async throws -> [TokenUse: Int] {
        let rows = try await pool.query(
            """
            SELECT use, sum(requests)::bigint AS n FROM token_uses_daily
            WHERE token_id = \(tokenID) AND day > (now() AT TIME ZONE 'UTC')::date - \(days)::int
            GROUP BY use
            """
        ).rows
        var out: [TokenUse: Int] = [:]
        for row in rows {
            if let use = TokenUse(try row.decode("use", as: String.self)) { out[use] = try row.decode("n", as: Int.self) }
        }
        return out
    }

    /// Deletes hourly and client counts past their retention. Cheap to repeat (index on `hour`);
    /// several instances may run it at once.
    public func prune() async throws {
        try await pool.query(Query(unsafeSQL: "DELETE FROM token_usage_hourly WHERE hour < now() - interval '\(Self.hourlyRetention)'"))
        try await pool.query(Query(unsafeSQL: "DELETE FROM token_clients_hourly WHERE hour < now() - interval '\(Self.clientRetention)'"))
        try await pool.query("DELETE FROM token_uses_daily WHERE day < (now() AT TIME ZONE 'UTC')::date - 90")
    }

    /// One day's or one hour's counts (the type moved to KeyflareCore, for the routes' protocols).
    public typealias Count = UsageCount

    /// Daily counts for one token over the last `days` UTC days (today included), zeros filled in.
    /// - Parameters:
    ///   - tokenID: the token (already known to belong to the caller's account).
    ///   - days: how many days.
    public func daily(tokenID: UUID, days: Int) async throws -> [Count] {
        try await daily(tokenIDs: [tokenID], days: days)[tokenID] ?? []
    }

    /// Daily counts for several tokens over the last `days` UTC days, zeros filled in, in one query.
    /// - Parameters:
    ///   - tokenIDs: the tokens (already known to belong to the caller's account).
    ///   - days: how many days.
    public func daily(tokenIDs: [UUID], days: Int) async throws -> [UUID: [Count]] {
        let rows = try await pool.query(
            """
            SELECT i.id AS token_id, d::date::text AS label, coalesce(u.requests, 0) AS requests,
                   coalesce(u.rate_limited, 0) AS rate_limited
            FROM unnest(\(tokenIDs)::uuid[]) AS i (id)
            CROSS JOIN generate_series((now() AT TIME ZONE 'UTC')::date - (\(days) - 1), (now() AT TIME ZONE 'UTC')::date,
                                       interval '1 day') AS d
            LEFT JOIN token_usage_daily u ON u.token_id = i.id AND u.day = d::date
            ORDER BY i.id, d
            """
        ).rows
        return try Self.grouped(rows)
    }

    /// Hourly counts for one token over the last `hours` UTC hours (this one included), zeros filled
    /// in; at most the retention.
    /// - Parameters:
    ///   - tokenID: the token (already known to belong to the caller's account).
    ///   - hours: how many hours.
    public func hourly(tokenID: UUID, hours: Int) async throws -> [Count] {
        let rows = try await pool.query(
            """
            SELECT \(tokenID)::uuid AS token_id, to_char(h AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24":00Z"') AS label,
                   coalesce(u.requests, 0) AS requests, coalesce(u.rate_limited, 0) AS rate_limited
            FROM generate_series(date_trunc('hour', now(), 'UTC') - (\(hours) - 1) * interval '1 hour', date_trunc('hour', now(), 'UTC'),
                                 interval '1 hour') AS h
            LEFT JOIN token_usage_hourly u ON u.token_id = \(tokenID) AND u.hour = h
            ORDER BY h
            """
        ).rows
        return try Self.grouped(rows)[tokenID] ?? []
    }

    /// The token's busiest client addresses or origins over the last 24 hours, busiest first; the
    /// empty value stands for all the others.
    /// - Parameters:
    ///   - tokenID: the token (already known to belong to the caller's account).
    ///   - kind: `address` or `origin`.
    ///   - limit: how many.
    public func top(tokenID: UUID, kind: String, limit: Int) async throws -> [(value: String, requests: Int)] {
        try await pool.query(
            """
            SELECT value, sum(requests)::bigint AS requests FROM token_clients_hourly
            WHERE token_id = \(tokenID) AND kind = \(kind) AND hour > date_trunc('hour', now(), 'UTC') - interval '24 hours'
            GROUP BY value ORDER BY 2 DESC, 1 LIMIT \(limit)
            """
        ).rows.map { (try $0.decode("value", as: String.self), try $0.decode("requests", as: Int.self)) }
    }

    private static func grouped(_ rows: [Row]) throws -> [UUID: [Count]] {
        var out: [UUID: [Count]] = [:]
        for row in rows {
            out[try row.decode("token_id", as: UUID.self), default: []].append(
                Count(label: try row.decode("label", as: String.self), requests: try row.decode("requests", as: Int.self),
                      rateLimited: try row.decode("rate_limited", as: Int.self)))
        }
        return out
    }
}
