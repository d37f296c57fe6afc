import Foundation
import KeyflareCore
import PQ
import PQServices

/// The instances' heartbeats (`keyflare_instances`), which tell a revoke whom to wait for.
public struct InstanceStore: LiveInstances {
    /// How recent a heartbeat must be for the instance to count as alive, beyond the listener's
    /// detection time: an instance not heard from for longer has noticed by then, through its own
    /// probe, that its LISTEN connection is gone (or it is not running), and so trusts no cached
    /// token; one heard from more recently might still, and a revoke waits for it.
    public static let aliveMarginSeconds = 3.0
    /// How long a silent instance's row is kept.
    public static let keptSeconds = 3_600

    private let pool: Pool
    private let aliveSeconds: Double

    /// - Parameters:
    ///   - pool: the database.
    ///   - listenDetectionSeconds: the deployment's `KEYFLARE_LISTEN_DETECTION_SECONDS`.
    public init(pool: Pool, listenDetectionSeconds: Double = 10) {
        self.pool = pool
        self.aliveSeconds = listenDetectionSeconds + Self.aliveMarginSeconds
    }

    /// Writes this instance's heartbeat and takes the alerts raised for it since the last one; now
    /// and then also forgets instances silent for an hour (and their alerts).
    /// - Parameters:
    ///   - id: this instance.
    ///   - address: where it serves.
    ///   - listening: whether its token listener is up.
    ///   - startedAt: when it started.
    ///   - prune: also delete long-silent rows.
    /// - Returns: how many alerts were waiting for this instance.
    public func heartbeat(id: String, address: String, listening: Bool, startedAt: Date, prune: Bool = false) async throws -> Int {
        let alerts = try await pool.query(
            """
            WITH beat AS (
                INSERT INTO keyflare_instances (instance_id, address, listener_state, started_at, last_seen)
                VALUES (\(id), \(address), \(listening ? "listening" : "down"), \(startedAt), now())
                ON CONFLICT (instance_id) DO UPDATE SET address = excluded.address, listener_state = excluded.listener_state,
                    last_seen = excluded.last_seen
                RETURNING 1
            ), taken AS (
                DELETE FROM keyflare_instance_alerts WHERE instance_id = \(id) RETURNING 1
            )
            SELECT (SELECT count(*) FROM taken) AS alerts, (SELECT count(*) FROM beat) AS beat
            """
        ).first?.decode("alerts", as: Int.self) ?? 0
        if prune {
            try await pool.query("DELETE FROM keyflare_instances WHERE last_seen < now() - make_interval(secs => \(Self.keptSeconds))")
            try await pool.query("DELETE FROM keyflare_instance_alerts WHERE raised_at < now() - make_interval(secs => \(Self.keptSeconds))")
        }
        return alerts
    }

    /// Raises an alert for instances that did not acknowledge a revoke in time.
    /// - Parameters:
    ///   - ids: the instances.
    public func alert(_ ids: [String]) async throws {
        guard !ids.isEmpty else { return }
        try await pool.query("INSERT INTO keyflare_instance_alerts (instance_id) SELECT unnest(\(ids)::text[])")
    }

    /// Ends this instance's own LISTEN connection on the server side, so that the listener
    /// reconnects (or, if the connection has silently stalled, so that nothing is left behind it).
    /// - Parameters:
    ///   - applicationName: the listener connection's `application_name`.
    public func endListenerConnection(applicationName: String) async throws {
        try await pool.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = \(applicationName) AND pid <> pg_backend_pid()")
    }

    /// The instances heard from in the last listener detection time plus `aliveMarginSeconds`.
    public func alive() async throws -> [LiveInstance] {
        try await pool.query(
            """
            SELECT instance_id, address, listener_state = 'listening' AS listening FROM keyflare_instances
            WHERE last_seen > now() - make_interval(secs => \(aliveSeconds)) ORDER BY instance_id
            """
        ).rows.map {
            LiveInstance(id: try $0.decode("instance_id"), address: try $0.decode("address"), listening: try $0.decode("listening"))
        }
    }

    /// The acknowledgement channel.
    public static let ackChannel = "keyflare_token_acks"

    /// Acknowledges confirmation markers on the acknowledgement channel, one notification each, in
    /// one query.
    /// - Parameters:
    ///   - nonces: the markers' nonces.
    ///   - instance: this instance.
    public func acknowledge(_ nonces: [String], by instance: String) async throws {
        guard !nonces.isEmpty else { return }
        try await pool.query(
            "SELECT pg_notify(\(Self.ackChannel), n || ' ' || \(instance)) FROM unnest(\(nonces)::text[]) AS n")
    }

    /// Removes this instance's row on a graceful stop, so revokes stop waiting for it at once.
    /// - Parameters:
    ///   - id: this instance.
    public func leave(id: String) async throws {
        try await pool.query("DELETE FROM keyflare_instances WHERE instance_id = \(id)")
    }
}
