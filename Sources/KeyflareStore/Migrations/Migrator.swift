import Logging
import PQ
import PQServices

/// Applies migrations in order, each in its own transaction, recorded in `schema_migrations`.
///
/// Several instances may start at once: each migration's transaction takes a transaction-level
/// advisory lock and re-checks `schema_migrations` under it, so each migration is applied exactly
/// once whoever gets there first, also through a transaction-pooling PgBouncer.
public struct Migrator: Sendable {
    /// All known migrations, in order.
    public let migrations: [Migration]
    private let logger: Logger

    /// An arbitrary constant shared by every Keyflare instance ("keyflare" in ASCII).
    static let advisoryLockKey: Int64 = 0x6b65_7966_6c61_7265

    /// Longest wait for the migration lock; past it, one line names the session holding it.
    public let lockTimeout: Duration

    /// - Parameters:
    ///   - migrations: every migration, in any order.
    ///   - logger: where applied migrations are reported.
    ///   - lockTimeout: longest wait for the migration lock (default 10 s).
    public init(migrations: [Migration], logger: Logger, lockTimeout: Duration = .seconds(10)) {
        self.migrations = migrations.sorted { $0.version < $1.version }
        self.logger = logger
        self.lockTimeout = lockTimeout
    }

    /// The migrations not yet recorded as applied.
    /// - Parameters:
    ///   - pool: the database.
    public func pending(on pool: Pool) async throws -> [Migration] {
        let all = migrations
        return try await pool.withConnection { connection in
            let applied = try Self.appliedVersions(connection)
            return all.filter { !applied.contains($0.version) }
        }
    }

    /// Applies every pending migration and returns the ones this call applied.
    /// - Parameters:
    ///   - pool: the database.
    @discardableResult
    public func migrate(on pool: Pool) async throws -> [Migration] {
        let all = migrations
        let logger = self.logger
        let lockTimeout = self.lockTimeout
        return try await pool.withConnection { connection in
            // Transaction-level locks only: they work through a transaction-pooling PgBouncer, where
            // a session lock and its unlock could land on different server connections.
            do {
                try connection.withTransaction { connection in
                    try AdvisoryLock.take(Self.advisoryLockKey, on: connection, purpose: "migrations", timeout: lockTimeout)
                try connection.execute(
                    """
                    CREATE TABLE IF NOT EXISTS schema_migrations (
                        version integer PRIMARY KEY,
                        name text NOT NULL,
                        checksum text NOT NULL,
                        applied_at timestamptz NOT NULL DEFAULT now()
                    )
                    """
                    )
                }
            } catch let error as PQError where error.condition == .lockNotAvailable {
                throw MigrationError(error.message)
            }
            var applied: [Migration] = []
            for migration in all {
                // Each migration applies in its own transaction under the lock, after checking
                // (under that lock) that no other process applied it meanwhile.
                let didApply: Bool
                do {
                    didApply = try connection.withTransaction { connection in
                        try AdvisoryLock.take(Self.advisoryLockKey, on: connection, purpose: "migrations", timeout: lockTimeout)
                        if let row = try connection.execute(
                            "SELECT checksum FROM schema_migrations WHERE version = \(migration.version)"
                        ).first {
                            if try row.decode("checksum", as: String.self) != migration.checksum {
                                logger.warning(
                                    "an applied migration was edited afterwards; edits are not re-applied",
                                    metadata: ["migration": "\(migration.identifier)"]
                                )
                            }
                            return false
                        }
                        try connection.executeScript(unsafeSQL: migration.sql)
                        try connection.execute(
                            """
                            INSERT INTO schema_migrations (version, name, checksum)
                            VALUES (\(migration.version), \(migration.name), \(migration.checksum))
                            """
                        )
                        return true
                    }
                } catch let error as PQError where error.condition == .lockNotAvailable {
                    throw MigrationError(error.message)
                } catch let error as PQError where error.kind == .server {
                    throw MigrationError(
                        "migration \(migration.identifier) failed: \(error.message)"
                    )
                }
                if didApply {
                    logger.info("applied migration", metadata: ["migration": "\(migration.identifier)"])
                    applied.append(migration)
                }
            }
            return applied
        }
    }

    private static func appliedVersions(_ connection: Connection) throws -> Set<Int> {
        let exists = try connection.execute("SELECT to_regclass('schema_migrations') IS NOT NULL AS present")
        guard try exists.first?.decode("present", as: Bool.self) == true else { return [] }
        let rows = try connection.execute("SELECT version FROM schema_migrations").rows
        return Set(try rows.map { try $0.decode("version", as: Int.self) })
    }
}
