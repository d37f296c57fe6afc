import Foundation
import KeyflareCore
import KeyflareStore
import PQ
import PQServices
import Testing

@testable import KeyflareTestSupport

/// The real `keyflare` binary, as an operator runs it.
@Suite struct CLITests {
    @Test func wrongArgumentsPrintUsageAndFail() async throws {
        let output = try await KeyflareProcess.run(["serve", "--no-such-flag"])
        #expect(output.status != 0)
        #expect(output.stderr.contains("Usage:"))
        let unknown = try await KeyflareProcess.run(["frobnicate"])
        #expect(unknown.status != 0)
    }

    @Test func everyCommandHasHelp() async throws {
        for command in [
            [], ["serve"], ["migrate"], ["account"], ["account", "create"], ["token"], ["token", "list"], ["token", "create"],
            ["token", "revoke"], ["token", "roll"], ["token", "generate"],
        ] {
            let output = try await KeyflareProcess.run(command + ["--help"])
            #expect(output.status == 0, "\(command)")
            #expect(output.stdout.contains("USAGE:"), "\(command)")
        }
    }

    @Test func tokenGeneratePrintsAFreshTokenOfTheKindOffline() async throws {
        var seen = Set<String>()
        for kind in ["public", "private"] {
            for _ in 0..<2 {
                // No database configured: generating needs none.
                let output = try await KeyflareProcess.run(["token", "generate", "--type", kind], env: ["KEYFLARE_DATABASE_URL": ""])
                #expect(output.status == 0, "\(output.stderr)")
                let token = output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(try TokenFormat.check(token).get().rawValue == kind)
                seen.insert(token)
            }
        }
        #expect(seen.count == 4)
        let bad = try await KeyflareProcess.run(["token", "generate", "--type", "secret"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("public"))
        #expect(try await KeyflareProcess.run(["token", "generate"]).status != 0)
    }

    @Test func malformedDatabaseURLIsOneClearLine() async throws {
        let output = try await KeyflareProcess.run(
            ["migrate"], env: ["KEYFLARE_DATABASE_URL": "postgresql://u:topsecret@localhost:99999x/db"]
        )
        #expect(output.status == 1)
        let lines = output.stderr.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines.first?.contains("KEYFLARE_DATABASE_URL is malformed") == true)
        #expect(!output.stderr.contains("topsecret"))
    }

    @Test func serveRefusesWhileMigrationsArePending() async throws {
        let db = try await TestDatabase.empty()
        let output = try await KeyflareProcess.run(["serve", "--port", "0"], env: ["KEYFLARE_DATABASE_URL": db.url])
        #expect(output.status == 1)
        #expect(output.stderr.contains("keyflare: 2 migration(s) pending") || output.stderr.contains("migration(s) pending"))
        let message = output.stderr.split(separator: "\n").filter { $0.hasPrefix("keyflare:") }
        #expect(message.count == 1)
    }

    @Test func migrateThenAccountCreatePrintsIDs() async throws {
        let db = try await TestDatabase.empty()
        let env = ["KEYFLARE_DATABASE_URL": db.url]
        let migrate = try await KeyflareProcess.run(["migrate"], env: env)
        #expect(migrate.status == 0, "\(migrate.stderr)")
        #expect(try await KeyflareProcess.run(["migrate"], env: env).stdout.contains("up to date"))

        let password = "correct horse battery staple"
        let created = try await KeyflareProcess.run(
            ["account", "create", "--name", "Acme", "--email", "ops@acme.test", "--password-stdin"], env: env,
            stdin: password + "\n"
        )
        #expect(created.status == 0, "\(created.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(created.stdout.utf8)) as? [String: String])
        let accountID = try #require(object["account_id"].flatMap(UUID.init(uuidString:)))
        let userID = try #require(object["user_id"].flatMap(UUID.init(uuidString:)))
        #expect(object["password"] == nil)
        let managementToken = try #require(object["management_token"])
        #expect(managementToken.hasPrefix("kf_prv_"))
        #expect(!created.stderr.contains(password))

        let pool = db.pool()
        defer { Task { await pool.close() } }
        let row = try #require(try await pool.query(
            "SELECT u.account_id, u.password_hash, a.name FROM users u JOIN accounts a ON a.id = u.account_id WHERE u.id = \(userID)"
        ).first)
        #expect(try row.decode("account_id", as: UUID.self) == accountID)
        #expect(try row.decode("name", as: String.self) == "Acme")
        let hash = try row.decode("password_hash", as: String.self)
        #expect(hash.hasPrefix("$2"))
        #expect(!hash.contains(password))
        let scopes = try await pool.query("SELECT scopes FROM access_tokens WHERE account_id = \(accountID)").rows
        #expect(try scopes.map { try $0.decode("scopes", as: [String].self) } == [["management"]])

        let duplicate = try await KeyflareProcess.run(
            ["account", "create", "--name", "Other", "--email", "OPS@acme.test"], env: env
        )
        #expect(duplicate.status == 1)
        #expect(duplicate.stderr.contains("already exists"))
    }

    @Test func tokenCommandsManageAnAccountsTokens() async throws {
        let db = try await TestDatabase.migrated()
        let env = ["KEYFLARE_DATABASE_URL": db.url]
        let account = try await KeyflareProcess.run(["account", "create", "--name", "Ops", "--email", "ops@ops.test"], env: env)
        let accountID = try #require(try json(account.stdout)["account_id"] as? String)

        let created = try await KeyflareProcess.run(
            ["token", "create", "--account", accountID, "--scopes", "ingest query", "--description", "web"], env: env
        )
        #expect(created.status == 0, "\(created.stderr)")
        let token = try json(created.stdout)
        let id = try #require(token["id"] as? String)
        let secret = try #require(token["token"] as? String)
        #expect(token["scopes"] as? [String] == ["ingest", "query"])

        let listed = try await KeyflareProcess.run(["token", "list", "--account", accountID], env: env)
        let tokens = try jsonArray(listed.stdout)
        #expect(tokens.count == 2)
        #expect(!listed.stdout.contains(secret))
        let table = try await KeyflareProcess.run(["token", "list", "--account", accountID, "--format", "table"], env: env)
        #expect(table.stdout.hasPrefix("ID"))
        #expect(table.stdout.contains(id))

        let rolled = try await KeyflareProcess.run(["token", "roll", "--account", accountID, id, "--grace-seconds", "60"], env: env)
        let pair = try jsonArray(rolled.stdout)
        #expect(pair.count == 2)
        #expect((pair[0]["token"] as? String)?.hasPrefix("kf_pub_") == true)
        #expect(pair[1]["id"] as? String == id)
        #expect(pair[1]["expires_at"] is String)

        let revoked = try await KeyflareProcess.run(["token", "revoke", "--account", accountID, id], env: env)
        #expect(try json(revoked.stdout)["revoked_at"] is String)
        let unknown = try await KeyflareProcess.run(["token", "list", "--account", UUID().uuidString], env: env)
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("no account"))

        let pool = db.pool()
        defer { Task { await pool.close() } }
        let actions = try await pool.query(
            "SELECT action FROM audit_events WHERE actor_type = 'operator' ORDER BY created_at"
        ).rows.map { try $0.decode("action", as: String.self) }
        #expect(actions == ["token.created", "token.created", "token.created", "token.rolled", "token.revoked"])
    }

    /// `token import`: a token of another format, read from standard input, never echoed.
    @Test func tokenImportReadsTheValueFromStandardInput() async throws {
        let db = try await TestDatabase.migrated()
        let env = ["KEYFLARE_DATABASE_URL": db.url]
        let account = try await KeyflareProcess.run(["account", "create", "--name", "Ops", "--email", "ops@ops.test"], env: env)
        let accountID = try #require(try json(account.stdout)["account_id"] as? String)
        let secret = "self-hosted-supabase-style-secret-0042"
        let imported = try await KeyflareProcess.run(
            ["token", "import", "--account", accountID, "--scopes", "ingest query", "--value-stdin"], env: env, stdin: secret + "\n")
        #expect(imported.status == 0, "\(imported.stderr)")
        let token = try json(imported.stdout)
        #expect(token["format"] as? String == "imported")
        #expect(token["scopes"] as? [String] == ["ingest", "query"])
        #expect(token["token"] == nil)
        #expect(!imported.stdout.contains(secret) && !imported.stderr.contains(secret))
        // The same value twice, one too short, or no --value-stdin: refused with one line.
        let again = try await KeyflareProcess.run(
            ["token", "import", "--account", accountID, "--value-stdin"], env: env, stdin: secret + "\n")
        #expect(again.status == 1)
        #expect(again.stderr.contains("already in use"))
        let short = try await KeyflareProcess.run(
            ["token", "import", "--account", accountID, "--value-stdin"], env: env, stdin: "too-short\n")
        #expect(short.status == 1)
        #expect(short.stderr.contains("16 to 512"))
        #expect(try await KeyflareProcess.run(["token", "import", "--account", accountID], env: env).status != 0)
    }

    @Test func serveWaitsForTheDatabaseThenGoesReadyAndDrainsOnSIGTERM() async throws {
        let db = try await TestDatabase.migrated()
        let server = try ServerProcess(env: ["KEYFLARE_DATABASE_URL": db.url])
        try await server.waitUntilListening()
        #expect(try await server.waitFor("/readyz", status: 200))
        let (status, body) = try await server.get("/healthz")
        #expect(status == 200)
        #expect(body == #"{"status":"ok"}"#)
        #expect(try await server.terminate() == 0)
    }

    @Test func sigtermDrainsBeforeShuttingDown() async throws {
        let db = try await TestDatabase.migrated()
        // A drain long enough that a loaded test machine still sees it (the test waits, it does not time).
        let server = try ServerProcess(env: ["KEYFLARE_DATABASE_URL": db.url, "KEYFLARE_DRAIN_SECONDS": "5"])
        try await server.waitUntilListening()
        #expect(try await server.waitFor("/readyz", status: 200))
        let clock = ContinuousClock()
        let start = clock.now
        server.process.terminate()
        // At once: not ready, "draining"; still serving.
        #expect(try await server.waitFor("/readyz", status: 503, timeout: 4))
        let (status, body) = try await server.get("/readyz")
        #expect(status == 503)
        #expect(body.contains("draining"))
        #expect(try await server.get("/healthz").0 == 200)
        // Then it exits cleanly, after the drain period.
        while server.process.isRunning, clock.now - start < .seconds(20) { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!server.process.isRunning)
        #expect(server.process.terminationStatus == 0)
        #expect(clock.now - start >= .seconds(5))
    }

    @Test func serveKeepsRetryingAnUnreachableDatabase() async throws {
        let server = try ServerProcess(env: ["KEYFLARE_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"])
        try await server.waitUntilListening()
        let (status, body) = try await server.get("/readyz")
        #expect(status == 503)
        #expect(body.contains("\"error\":\"Service Unavailable\""))
        try await Task.sleep(for: .seconds(1))
        #expect(server.process.isRunning)
        #expect(server.log.contains("database unreachable; retrying"))
        #expect(try await server.terminate() == 0)
    }

    @Test func serveWithMigrateAppliesThem() async throws {
        let db = try await TestDatabase.empty()
        let server = try ServerProcess(arguments: ["--migrate"], env: ["KEYFLARE_DATABASE_URL": db.url])
        try await server.waitUntilListening()
        #expect(try await server.waitFor("/readyz", status: 200))
        _ = try await server.terminate()
        let pool = db.pool()
        defer { Task { await pool.close() } }
        #expect(try await pool.query("SELECT count(*) AS n FROM schema_migrations").first!.decode("n", as: Int.self) >= 2)
    }

    /// An empty working directory, no KEYFLARE_MIGRATIONS_DIR, and the binary copied away from the
    /// checkout: the migrations come from the binary itself.
    @Test func migrateAndServeFromAnEmptyDirectoryWithACopiedBinary() async throws {
        let db = try await TestDatabase.empty()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("keyflare-anywhere-\(UUID())")
        let work = folder.appendingPathComponent("work")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let copy = folder.appendingPathComponent("keyflare")
        try FileManager.default.copyItem(at: try KeyflareProcess.executable, to: copy)
        let env = ["KEYFLARE_DATABASE_URL": db.url]

        // Another test may fork while the copy's descriptor is open for writing; the child holds it
        // until it execs, and running the copy meanwhile fails with ETXTBSY. Wait that out.
        var attempt = 0
        let migrate: KeyflareProcess.Output
        while true {
            do {
                migrate = try await KeyflareProcess.run(["migrate"], env: env, in: work, executable: copy)
                break
            } catch let error as NSError where attempt < 20 && (error.userInfo[NSUnderlyingErrorKey] as? NSError)?.code == Int(ETXTBSY) {
                attempt += 1
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        #expect(migrate.status == 0, "\(migrate.stderr)")
        #expect(migrate.stdout.contains("applied"))
        let pool = db.pool()
        defer { Task { await pool.close() } }
        let applied = try await pool.query("SELECT version FROM schema_migrations ORDER BY version").rows
            .map { try $0.decode("version", as: Int.self) }
        let folderVersions = try Migration.load(from: TestDatabase.migrationsDirectory).map(\.version)
        #expect(applied == folderVersions)

        let server = try ServerProcess(env: env, in: work, executable: copy)
        try await server.waitUntilListening()
        #expect(try await server.waitFor("/readyz", status: 200))
        #expect(try await server.terminate() == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: work.path).isEmpty)
    }
}
