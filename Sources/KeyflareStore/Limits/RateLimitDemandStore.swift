import Foundation
import KeyflareCore
import PQ
import PQServices

/// What each instance is asked for per rate-limited token (`rate_limit_demand`, an UNLOGGED table):
/// the exchange behind `RateLimiter`'s shares.
public struct RateLimitDemandStore: Sendable {
    private let pool: Pool

    /// The nil token: an instance's heartbeat row, so that instances are counted even when idle.
    static let heartbeat = UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))

    /// How long a row counts: an instance that has not written for this long is gone.
    public static let liveSeconds = 2.0

    /// - Parameters:
    ///   - pool: the database.
    public init(pool: Pool) {
        self.pool = pool
    }

    /// Publishes this instance's demand and reads the others': one round trip, one transaction.
    /// - Parameters:
    ///   - instanceID: this instance.
    ///   - demand: its demand per token, per second.
    /// - Returns: the other live instances' summed demand per token (for the tokens given), and how
    ///   many instances are alive, this one included.
    public func exchange(instanceID: UUID, demand: [RateLimiter.Demand]) async throws
        -> (others: [UUID: (requests: Double, events: Double)], instances: Int)
    {
        let ids = [Self.heartbeat] + demand.map(\.tokenID)
        let requests = [0] + demand.map(\.requests)
        let events = [0] + demand.map(\.events)
        return try await pool.withTransaction { connection in
            try connection.execute(
                """
                INSERT INTO rate_limit_demand (instance_id, token_id, requests, events, updated_at)
                SELECT \(instanceID), d.token_id, d.requests, d.events, now()
                FROM unnest(\(ids)::uuid[], \(requests)::real[], \(events)::real[]) AS d (token_id, requests, events)
                ORDER BY d.token_id
                ON CONFLICT (token_id, instance_id) DO UPDATE
                    SET requests = excluded.requests, events = excluded.events, updated_at = excluded.updated_at
                """
            )
            let rows = try connection.execute(
                """
                SELECT token_id, sum(requests)::float8 AS requests, sum(events)::float8 AS events, count(*)::int AS n
                FROM rate_limit_demand
                WHERE token_id = ANY (\(ids)::uuid[]) AND instance_id <> \(instanceID)
                  AND updated_at > now() - make_interval(secs => \(Self.liveSeconds))
                GROUP BY token_id
                """
            ).rows
            var others: [UUID: (requests: Double, events: Double)] = [:]
            var instances = 1
            for row in rows {
                let id: UUID = try row.decode("token_id")
                if id == Self.heartbeat {
                    instances += try row.decode("n", as: Int.self)
                } else {
                    others[id] = (try row.decode("requests"), try row.decode("events"))
                }
            }
            return (others, instances)
        }
    }

    /// Removes rows no instance has written for a minute (instances that stopped, tokens gone quiet).
    public func prune() async throws {
        try await pool.query("DELETE FROM rate_limit_demand WHERE updated_at < now() - interval '1 minute'")
    }

    /// Removes this instance's rows (at shutdown).
    /// - Parameters:
    ///   - instanceID: this instance.
    public func leave(instanceID: UUID) async throws {
        try await pool.query("DELETE FROM rate_limit_demand WHERE instance_id = \(instanceID)")
    }
}
