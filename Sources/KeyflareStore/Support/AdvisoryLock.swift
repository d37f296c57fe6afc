import PQ

/// A transaction-scoped advisory lock that is never waited for forever: past `timeout` the wait
/// ends with one line naming the session that holds the lock, so an operator knows what to stop.
enum AdvisoryLock {
    /// Takes the lock for the rest of the current transaction.
    /// - Parameters:
    ///   - key: the lock's key.
    ///   - connection: a connection inside a transaction.
    ///   - purpose: what waits, for the message ("migrations", "seeding").
    ///   - timeout: the longest wait.
    static func take(_ key: Int64, on connection: Connection, purpose: String, timeout: Duration) throws {
        let milliseconds = max(1, Int(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000))
        // A savepoint, so that after a timeout the transaction can still ask who holds the lock.
        try connection.execute("SAVEPOINT keyflare_lock_wait")
        try connection.execute(Query(unsafeSQL: "SET LOCAL lock_timeout = \(milliseconds)"))
        do {
            try connection.execute("SELECT pg_advisory_xact_lock(\(key))")
        } catch let error as PQError where error.condition == .lockNotAvailable {
            try connection.execute("ROLLBACK TO SAVEPOINT keyflare_lock_wait")
            let holder = try? connection.execute(
                """
                SELECT a.pid, coalesce(nullif(a.application_name, ''), '?') AS application, a.usename::text AS "user",
                       coalesce(a.state, '?') AS state,
                       coalesce(extract(epoch FROM now() - a.xact_start)::int, 0) AS seconds
                FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                  AND l.classid = ((\(key)::bigint >> 32) & 4294967295)::oid AND l.objid = (\(key)::bigint & 4294967295)::oid
                LIMIT 1
                """
            ).first
            let who = holder.map { row in
                let pid = (try? row.decode("pid", as: Int.self)).map(String.init) ?? "?"
                let application = (try? row.decode("application", as: String.self)) ?? "?"
                let user = (try? row.decode("user", as: String.self)) ?? "?"
                let state = (try? row.decode("state", as: String.self)) ?? "?"
                let seconds = (try? row.decode("seconds", as: Int.self)) ?? 0
                return "pid \(pid) (application \(application), user \(user), \(state) for \(seconds) s)"
            } ?? "a session that could not be identified"
            throw PQError(
                .server,
                message: "\(purpose) waited \(milliseconds) ms for their advisory lock, held by \(who); stop that session or try again",
                sqlState: SQLCondition.lockNotAvailableState)
        }
        try connection.execute("RELEASE SAVEPOINT keyflare_lock_wait")
    }
}
