import Foundation
import KeyflareStore
import PQ
import PQServices
import Testing

@testable import KeyflareTestSupport

@Suite struct MigrationTests {
    func migrator() throws -> Migrator {
        Migrator(migrations: try Migration.load(from: TestDatabase.migrationsDirectory), logger: TestDatabase.quietLogger)
    }

    @Test func filesLoadInOrder() throws {
        let migrations = try Migration.load(from: TestDatabase.migrationsDirectory)
        #expect(migrations.count >= 2)
        #expect(migrations.map(\.version) == migrations.map(\.version).sorted())
        #expect(migrations.prefix(2).map(\.identifier) == ["0001_accounts", "0002_users"])
    }

    /// `migrations/` is the source of truth; the binary must carry exactly that set, byte for byte.
    @Test func embeddedMigrationsAreTheFolder() throws {
        let folder = try Migration.load(from: TestDatabase.migrationsDirectory)
        let embedded = try Migration.resolve(configured: nil)
        #expect(embedded.map(\.identifier) == folder.map(\.identifier))
        #expect(embedded.map(\.checksum) == folder.map(\.checksum))
        #expect(embedded == folder)
    }

    @Test func aConfiguredFolderOverridesTheEmbeddedSet() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("keyflare-migrations-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data("SELECT 1;\r\n".utf8).write(to: folder.appendingPathComponent("0001_only.sql"))
        let migrations = try Migration.resolve(configured: folder.path)
        #expect(migrations == [Migration(version: 1, name: "only", sql: "SELECT 1;\r\n")])
        #expect(throws: MigrationError.self) { try Migration.resolve(configured: folder.path + "-missing") }
    }

    @Test func migrateIsIdempotent() async throws {
        let db = try await TestDatabase.empty()
        let pool = db.pool()
        defer { Task { await pool.close() } }
        let migrator = try migrator()
        #expect(try await migrator.pending(on: pool).count == migrator.migrations.count)
        let first = try await migrator.migrate(on: pool)
        #expect(first.count == migrator.migrations.count)
        #expect(try await migrator.migrate(on: pool).isEmpty)
        #expect(try await migrator.pending(on: pool).isEmpty)
        let recorded = try await pool.query("SELECT count(*) AS n FROM schema_migrations").first!.decode("n", as: Int.self)
        #expect(recorded == migrator.migrations.count)
    }

    @Test func concurrentRunsApplyEachFileOnce() async throws {
        let db = try await TestDatabase.empty()
        let migrator = try migrator()
        // Two "instances", each with its own pool, racing on a fresh database. The migrations create
        // tables without IF NOT EXISTS, so a double apply would fail one of the runs.
        let pools = (0..<2).map { _ in db.pool(max: 1) }
        let applied = try await withThrowingTaskGroup(of: Int.self) { group in
            for pool in pools { group.addTask { try await migrator.migrate(on: pool).count } }
            return try await group.reduce(0, +)
        }
        #expect(applied == migrator.migrations.count)
        let rows = try await pools[0].query("SELECT version, count(*) AS n FROM schema_migrations GROUP BY version").rows
        #expect(rows.count == migrator.migrations.count)
        #expect(try rows.allSatisfy { try $0.decode("n", as: Int.self) == 1 })
        for pool in pools { await pool.close() }
    }

    @Test func severalDatabasesInOneClusterMigrateAtOnce() async throws {
        // Roles are cluster-wide while the migration lock is per database: databases migrating at
        // the same moment must not trip over each other's CREATE ROLE.
        let databases = try await withThrowingTaskGroup(of: TestDatabase.self) { group in
            for _ in 0..<4 { group.addTask { try await TestDatabase.empty() } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let migrator = try migrator()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for db in databases {
                group.addTask {
                    let pool = db.pool(max: 1)
                    let applied = try await migrator.migrate(on: pool).count
                    await pool.close()
                    #expect(applied == migrator.migrations.count)
                }
            }
            try await group.waitForAll()
        }
    }

    @Test func failingMigrationRollsBackAndIsNotRecorded() async throws {
        let db = try await TestDatabase.empty()
        let pool = db.pool()
        defer { Task { await pool.close() } }
        let migrator = Migrator(
            migrations: [
                Migration(version: 1, name: "ok", sql: "CREATE TABLE a (x int);"),
                Migration(version: 2, name: "broken", sql: "CREATE TABLE b (x int); SELECT * FROM nope;"),
            ],
            logger: TestDatabase.quietLogger
        )
        await #expect(throws: MigrationError.self) { try await migrator.migrate(on: pool) }
        let tables = try await pool.query(
            "SELECT to_regclass('a') IS NOT NULL AS a, to_regclass('b') IS NOT NULL AS b"
        ).first!
        #expect(try tables.decode("a", as: Bool.self))
        #expect(try !tables.decode("b", as: Bool.self))
        #expect(try await migrator.pending(on: pool).map(\.version) == [2])
    }
}
