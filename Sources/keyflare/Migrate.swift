import ArgumentParser
import KeyflareCore
import KeyflareHTTP
import KeyflareServer
import KeyflareStore
import Logging
import PQ
import PQServices

/// `keyflare migrate`: apply pending migrations.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply pending migrations, each in its own transaction.",
        discussion: "Safe to run from several places at once: an advisory lock makes each migration apply once."
    )

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        try await reportingFailures {
            let configuration = try database.configuration()
            LoggingSetup.bootstrap(configuration)
            let logger = Logger(label: "keyflare")
            let pool = try openPool(configuration, logger: logger)
            defer { Task { await pool.close() } }
            let migrations = try Migration.resolve(configured: configuration.migrationsDirectory)
            let applied = try await Migrator(migrations: migrations, logger: logger).migrate(on: pool)
            await pool.close()
            print(applied.isEmpty ? "schema is up to date" : "applied \(applied.count) migration(s)")
        }
    }
}

/// Opens a small pool for a one-shot command, after checking the URL.
func openPool(_ configuration: KeyflareConfiguration, logger: Logger) throws -> Pool {
    guard let url = configuration.databaseURL else { throw ConfigurationError("KEYFLARE_DATABASE_URL is not set") }
    try validateDatabaseURL(url, name: "KEYFLARE_DATABASE_URL")
    return Pool(configuration: .init(conninfo: url, maxConnections: 2), logger: logger)
}
