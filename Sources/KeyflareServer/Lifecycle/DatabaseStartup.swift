import KeyflareCore
import KeyflareStore
import KeyflareHTTP
import Logging
import PQ
import PQServices
import ServiceLifecycle

/// Reaches the database at start-up, retrying with backoff, then checks the schema.
///
/// The HTTP server runs meanwhile, so `/readyz` answers 503 until this finishes. With pending
/// migrations it applies them when `--migrate` was given, and otherwise stops the process with a
/// one-line message.
///
/// ServiceLifecycle logs every service's description at start; this one's is just its name, so the
/// seeded secrets (and the migrations' text) never reach a log line.
struct DatabaseStartup: Service, CustomStringConvertible {
    let pool: Pool
    let migrator: Migrator
    let migrate: Bool
    let readiness: Readiness
    /// Single-tenant seeding to do once the schema is current; nil when not single-tenant.
    let seedTokens: [TokenKind: String]?
    let logger: Logger

    var description: String { "DatabaseStartup" }

    func run() async throws {
        var delay = 0.25
        while true {
            do {
                try await pool.query("SELECT 1")
                break
            } catch let error as PQError where error.isConnectionFailure {
                logger.warning(
                    "database unreachable; retrying",
                    metadata: ["error": "\(error)", "retry_in_s": "\(delay)"]
                )
                let wait = delay
                do {
                    try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(wait)) }
                } catch {
                    return
                }
                delay = min(delay * 2, 10)
            }
        }
        let pending = try await migrator.pending(on: pool)
        if !pending.isEmpty {
            guard migrate else { throw StartupError.pendingMigrations(pending.count) }
            try await migrator.migrate(on: pool)
        }
        if let seedTokens {
            let outcome = try await SingleTenantSeed(pool: pool).run(tokens: seedTokens)
            logger.info("single-tenant account ready", metadata: [
                "account_id": "\(outcome.accountID.uuidString.lowercased())",
                "created": "\(outcome.createdAccount)",
                "seeded": "\(outcome.seeded.map(\.rawValue).sorted())",
                "replaced": "\(outcome.replaced.map(\.rawValue).sorted())",
            ])
        }
        readiness.set(true)
        // The sandbox's revocations need a superuser; without them tenant SQL can take session
        // locks and write WAL. Say so loudly at every start until an operator has run harden().
        if let open = try? await pool.query(
            "SELECT has_function_privilege('public', 'pg_catalog.pg_advisory_lock(bigint)', 'EXECUTE') AS open"
        ).first, (try? open.decode("open", as: Bool.self)) == true {
            logger.error(
                "the endpoint sandbox is not hardened: run SELECT keyflare_sandbox.harden('<Keyflare\'s role>') in this database as a superuser (see docs/sandbox.md)")
        }
        logger.info("database ready")
        try? await gracefulShutdown()
    }
}

/// Why `serve` stopped during start-up; the description is the one line printed.
public enum StartupError: Error, CustomStringConvertible {
    /// The schema is behind the code.
    case pendingMigrations(Int)

    public var description: String {
        switch self {
        case .pendingMigrations(let n):
            "\(n) migration(s) pending: run `keyflare migrate` or start with `keyflare serve --migrate`"
        }
    }
}
