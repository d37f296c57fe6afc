import Foundation
import KeyflareStore
import Logging
import PQ
import PQServices

/// A fresh database per test, copied from one migrated template, on the cluster `make test` starts
/// (`KEYFLARE_TEST_DATABASE_URL`). Copies are cheap and independent, so tests run in parallel.
struct TestDatabase: Sendable {
    /// The new database's URL.
    let url: String
    /// Its name.
    let name: String

    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let migrationsDirectory = repositoryRoot.appendingPathComponent("migrations").path

    static var adminURL: String {
        get throws {
            guard let url = ProcessInfo.processInfo.environment["KEYFLARE_TEST_DATABASE_URL"], !url.isEmpty else {
                throw MigrationError("KEYFLARE_TEST_DATABASE_URL is not set: run the tests with `make test`")
            }
            return url
        }
    }

    static var quietLogger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    /// A migrated database of its own.
    static func migrated() async throws -> TestDatabase {
        try await create(template: Template.shared.name())
    }

    /// An empty database (no schema at all).
    static func empty() async throws -> TestDatabase {
        try await create(template: "template0")
    }

    private static func create(template: String) async throws -> TestDatabase {
        let name = "kf_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        try await admin { connection in
            try connection.execute(
                Query(unsafeSQL: "CREATE DATABASE \(try connection.escapeIdentifier(String(name))) TEMPLATE "
                    + (try connection.escapeIdentifier(template)))
            )
        }
        return TestDatabase(url: try url(for: String(name)), name: String(name))
    }

    /// Runs blocking work on a short-lived admin connection to the `postgres` database.
    static func admin<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        let url = try adminURL
        return try await Task.detached {
            let connection = try Connection.connect(url)
            defer { connection.close() }
            return try body(connection)
        }.value
    }

    static func url(for database: String) throws -> String {
        guard var components = URLComponents(string: try adminURL) else {
            throw MigrationError("KEYFLARE_TEST_DATABASE_URL must be a postgresql:// URI")
        }
        components.path = "/" + database
        return components.string!
    }

    /// A pool on this database.
    func pool(max: Int = 4) -> Pool {
        Pool(configuration: .init(conninfo: url, maxConnections: max), logger: TestDatabase.quietLogger)
    }

    /// Terminates every other backend connected to this database, and waits until they are gone.
    func terminateBackends() async throws {
        let name = self.name
        try await TestDatabase.admin { connection in
            try connection.execute(
                """
                SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE datname = \(name) AND pid <> pg_backend_pid()
                """
            )
            for _ in 0..<200 {
                let left = try connection.execute(
                    "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = \(name) AND pid <> pg_backend_pid()"
                )
                if try left.first!.decode("n", as: Int.self) == 0 { return }
                usleep(10_000)
            }
        }
    }
}

/// The migrated template, made once per test process.
actor Template {
    static let shared = Template()
    private var task: Task<String, any Error>?

    func name() async throws -> String {
        if let task { return try await task.value }
        let task = Task<String, any Error> {
            let name = "kf_template_" + String(UUID().uuidString.prefix(8)).lowercased()
            try await TestDatabase.admin { connection in
                try connection.execute(Query(unsafeSQL: "CREATE DATABASE \(try connection.escapeIdentifier(name))"))
            }
            let pool = Pool(configuration: .init(conninfo: try TestDatabase.url(for: name), maxConnections: 1),
                            logger: TestDatabase.quietLogger)
            let migrations = try Migration.load(from: TestDatabase.migrationsDirectory)
            try await Migrator(migrations: migrations, logger: TestDatabase.quietLogger).migrate(on: pool)
            // A template must have no open connections while it is copied.
            await pool.close()
            return name
        }
        self.task = task
        return try await task.value
    }
}
