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
            [], ["serve"], ["migrate"], ["account"], ["account", "create"], ["account", "default-rate-limit"], ["account", "token-policy"], ["token"],
            ["token", "list"], ["token", "create"], ["token", "update"], ["token", "revoke"], ["token", "roll"], ["token", "generate"],
            ["webhook"], ["webhook", "list"], ["webhook", "create"], ["webhook", "delete"],
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

    @Test func webhookCommandsManageAnAccountsWebhooks() async throws {
        let db = try await TestDatabase.migrated()
        let env = ["KEYFLARE_DATABASE_URL": db.url]
        let account = try await KeyflareProcess.run(["account", "create", "--name", "Hooks", "--email", "hooks@ops.test"], env: env)
        let accountID = try #require(try json(account.stdout)["account_id"] as? String)

        let refused = try await KeyflareProcess.run(["webhook", "create", "--account", accountID, "--url", "http://10.0.0.1/x"], env: env)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("private address"), "\(refused.stderr)")
        let unknown = try await KeyflareProcess.run(
            ["webhook", "create", "--account", accountID, "--url", "https://203.0.113.7/x", "--events", "token.revoked,token.nope"], env: env)
        #expect(unknown.status != 0 && unknown.stderr.contains("token.nope"))

        let created = try await KeyflareProcess.run(
            ["webhook", "create", "--account", accountID, "--url", "https://203.0.113.7/x", "--events", "token.revoked, token.expiring"], env: env)
        #expect(created.status == 0, "\(created.stderr)")
        let webhook = try json(created.stdout)
        let id = try #require(webhook["id"] as? String)
        let secret = try #require(webhook["secret"] as? String)
        #expect(webhook["events"] as? [String] == ["token.revoked", "token.expiring"])

        let listed = try await KeyflareProcess.run(["webhook", "list", "--account", accountID], env: env)
        #expect(try jsonArray(listed.stdout).map { $0["id"] as? String } == [id])
        #expect(!listed.stdout.contains(secret) && !listed.stderr.contains(secret))

        #expect(try await KeyflareProcess.run(["webhook", "delete", "--account", accountID, id], env: env).status == 0)
        #expect(try await KeyflareProcess.run(["webhook", "delete", "--account", accountID, id], env: env).status != 0)
        #expect(try await KeyflareProcess.run(["webhook", "list", "--account", accountID], env: env).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
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
        #expect(token["canary"] as? Bool == false)

        let listed = try await KeyflareProcess.run(["token", "list", "--account", accountID], env: env)
        let tokens = try jsonArray(listed.stdout)
        #expect(tokens.count == 2)
        #expect(!listed.stdout.contains(secret))
        let table = try await KeyflareProcess.run(["token", "list", "--account", accountID, "--format", "table"], env: env)
        #expect(table.stdout.hasPrefix("ID"))
        #expect(table.stdout.contains(id))

        // Disabled and enabled again: the table says which (the audit log's order is checked below).
        let disabled = try await KeyflareProcess.run(["token", "disable", "--account", accountID, id], env: env)
        #expect(disabled.status == 0, "\(disabled.stderr)")
        let whileDisabled = try await KeyflareProcess.run(["token", "list", "--account", accountID, "--format", "table"], env: env)
        #expect(whileDisabled.stdout.split(separator: "\n").first { $0.hasPrefix(id) }?.contains("disabled") == true)
        #expect(try await KeyflareProcess.run(["token", "enable", "--account", accountID, id], env: env).status == 0)
        let enabled = try await KeyflareProcess.run(["token", "list", "--account", accountID, "--format", "table"], env: env)
        let enabledLine = try #require(enabled.stdout.split(separator: "\n").first { $0.hasPrefix(id) })
        #expect(enabledLine.contains("active") && !enabledLine.contains("disabled"))

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
        #expect(actions == ["token.created", "token.created", "token.disabled", "token.enabled", "token.created", "token.rolled", "token.revoked"])
    }

    /// A migrated database with one account; returns its environment and the account id.
    static func accountFixture() async throws -> (db: TestDatabase, env: [String: String], accountID: String) {
        let db = try await TestDatabase.migrated()
        let env = ["KEYFLARE_DATABASE_URL": db.url]
        let account = try await KeyflareProcess.run(["account", "create", "--name", "Ops", "--email", "ops@ops.test"], env: env)
        #expect(account.status == 0, "\(account.stderr)")
        return (db, env, try #require(try json(account.stdout)["account_id"] as? String))
    }

    /// The stored settings of a token, as text: what a refused command must leave alone.
    static func storedSettings(_ pool: Pool, _ id: String) async throws -> String {
        let tokenID = try #require(UUID(uuidString: id))
        let row = try #require(try await pool.query(
            """
            SELECT concat_ws(' | ', description, allowed_ips::text, allowed_origins::text, require_origin::text,
                             rate_limit_rps::text, rate_limit_burst::text, rate_limit_eps::text) AS s
            FROM access_tokens WHERE id = \(tokenID)
            """
        ).first)
        return try row.decode("s")
    }

    @Test func tokenCreateTakesAllowListsAndARateLimit() async throws {
        let (db, env, accountID) = try await Self.accountFixture()
        let created = try await KeyflareProcess.run(
            [
                "token", "create", "--account", accountID, "--description", "browser",
                "--allowed-ip", "203.0.113.0/24", "--allowed-ip", "2001:db8::/32", "--allowed-ip", "198.51.100.7",
                "--allowed-origin", "https://app.example.com", "--allowed-origin", "https://*.Example.org:8443", "--require-origin",
                "--requests-per-second", "50", "--burst", "100", "--events-per-second", "500",
            ], env: env)
        #expect(created.status == 0, "\(created.stderr)")
        let token = try json(created.stdout)
        let id = try #require(token["id"] as? String)
        #expect(token["allowed_ips"] as? [String] == ["203.0.113.0/24", "2001:db8::/32", "198.51.100.7/32"])
        #expect(token["allowed_origins"] as? [String] == ["https://app.example.com", "https://*.example.org:8443"])
        #expect(token["require_origin"] as? Bool == true)
        let limit = try #require(token["rate_limit"] as? [String: Any])
        #expect(limit["requests_per_second"] as? Int == 50 && limit["burst"] as? Int == 100 && limit["events_per_second"] as? Int == 500)
        let pool = db.pool()
        defer { Task { await pool.close() } }
        #expect(try await Self.storedSettings(pool, id)
            == "browser | {203.0.113.0/24,2001:db8::/32,198.51.100.7/32} | {https://app.example.com,https://*.example.org:8443} | true | 50 | 100 | 500")

        // A rate alone: the burst is one second's worth and events are not limited; no allow-lists.
        let plain = try await KeyflareProcess.run(["token", "create", "--account", accountID, "--requests-per-second", "7"], env: env)
        #expect(plain.status == 0, "\(plain.stderr)")
        let plainToken = try json(plain.stdout)
        #expect((plainToken["rate_limit"] as? [String: Any])?["burst"] as? Int == 7)
        #expect((plainToken["rate_limit"] as? [String: Any])?["events_per_second"] is NSNull)
        #expect(plainToken["allowed_ips"] as? [String] == [] && plainToken["require_origin"] as? Bool == false)

        // The table shows the limit and the allow-lists.
        let table = try await KeyflareProcess.run(["token", "list", "--account", accountID, "--format", "table"], env: env)
        #expect(table.status == 0, "\(table.stderr)")
        let header = try #require(table.stdout.split(separator: "\n").first)
        #expect(header.contains("RATE LIMIT") && header.contains("ALLOWED IPS") && header.contains("ALLOWED ORIGINS"))
        let line = try #require(table.stdout.split(separator: "\n").first { $0.hasPrefix(id) })
        #expect(line.contains("50/s burst 100, 500 events/s"), "\(line)")
        #expect(line.contains("203.0.113.0/24,2001:db8::/32,198.51.100.7/32"), "\(line)")
        #expect(line.contains("https://app.example.com,https://*.example.org:8443 (required)"), "\(line)")
        let plainLine = try #require(table.stdout.split(separator: "\n").first { $0.hasPrefix(plainToken["id"] as! String) })
        #expect(plainLine.contains("7/s burst 7") && !plainLine.contains("events/s") && plainLine.contains("any"), "\(plainLine)")
    }

    @Test func tokenUpdateChangesOnlyWhatIsGiven() async throws {
        let (db, env, accountID) = try await Self.accountFixture()
        let pool = db.pool()
        defer { Task { await pool.close() } }
        let created = try await KeyflareProcess.run(
            [
                "token", "create", "--account", accountID, "--description", "web", "--allowed-ip", "203.0.113.0/24",
                "--allowed-origin", "https://app.example.com", "--requests-per-second", "10", "--burst", "20", "--events-per-second", "30",
            ], env: env)
        #expect(created.status == 0, "\(created.stderr)")
        let id = try #require(try json(created.stdout)["id"] as? String)
        func update(_ arguments: [String]) async throws -> KeyflareProcess.Output {
            try await KeyflareProcess.run(["token", "update", "--account", accountID, id] + arguments, env: env)
        }
        let steps: [([String], String)] = [
            (["--description", "renamed"], "renamed | {203.0.113.0/24} | {https://app.example.com} | false | 10 | 20 | 30"),
            // One value of the limit: the others stay.
            (["--burst", "40"], "renamed | {203.0.113.0/24} | {https://app.example.com} | false | 10 | 40 | 30"),
            (["--requests-per-second", "15"], "renamed | {203.0.113.0/24} | {https://app.example.com} | false | 15 | 40 | 30"),
            // A list given replaces that list only.
            (["--allowed-ip", "10.0.0.0/8", "--allowed-ip", "192.0.2.1"],
             "renamed | {10.0.0.0/8,192.0.2.1/32} | {https://app.example.com} | false | 15 | 40 | 30"),
            (["--require-origin"], "renamed | {10.0.0.0/8,192.0.2.1/32} | {https://app.example.com} | true | 15 | 40 | 30"),
            (["--clear-allowed-ips"], "renamed | {} | {https://app.example.com} | true | 15 | 40 | 30"),
            (["--no-require-origin", "--allowed-origin", "https://*.example.net"], "renamed | {} | {https://*.example.net} | false | 15 | 40 | 30"),
            (["--clear-allowed-origins"], "renamed | {} | {} | false | 15 | 40 | 30"),
            (["--clear-rate-limit"], "renamed | {} | {} | false"),
            // With no limit left, a new one starts afresh: its burst is one second's worth.
            (["--requests-per-second", "3"], "renamed | {} | {} | false | 3 | 3"),
        ]
        for (arguments, expected) in steps {
            let answer = try await update(arguments)
            #expect(answer.status == 0, "\(arguments): \(answer.stderr)")
            #expect(try await Self.storedSettings(pool, id) == expected, "\(arguments)")
        }
        // ... and after --clear-rate-limit, a burst alone has no rate to go with.
        #expect(try await update(["--clear-rate-limit"]).status == 0)
        let burstOnly = try await update(["--burst", "5"])
        #expect(burstOnly.status == 1 && burstOnly.stderr.contains("need --requests-per-second"), "\(burstOnly.stderr)")
        #expect(try await Self.storedSettings(pool, id) == "renamed | {} | {} | false")
        #expect(try await update(["--requests-per-second", "3"]).status == 0)
        let shown = try json(try await update(["--events-per-second", "9"]).stdout)
        #expect((shown["rate_limit"] as? [String: Any])?["events_per_second"] as? Int == 9)
        #expect(shown["id"] as? String == id && shown["token"] == nil)
        // Every change is audited as the operator's.
        let updates = try await pool.query(
            "SELECT count(*) AS n FROM audit_events WHERE action = 'token.updated' AND actor_type = 'operator'"
        ).first!.decode("n", as: Int.self)
        #expect(updates == steps.count + 3)
        // Unknown or revoked tokens.
        let unknown = try await KeyflareProcess.run(
            ["token", "update", "--account", accountID, UUID().uuidString, "--description", "x"], env: env)
        #expect(unknown.status == 1 && unknown.stderr.contains("no token with this id"), "\(unknown.stderr)")
        #expect(try await KeyflareProcess.run(["token", "revoke", "--account", accountID, id], env: env).status == 0)
        let revoked = try await update(["--description", "again"])
        #expect(revoked.status == 1 && revoked.stderr.contains("revoked"), "\(revoked.stderr)")
    }

    @Test func badLimitsAndAllowListsAreRefusedAndNothingIsStored() async throws {
        let (db, env, accountID) = try await Self.accountFixture()
        let pool = db.pool()
        defer { Task { await pool.close() } }
        let created = try await KeyflareProcess.run(
            ["token", "create", "--account", accountID, "--allowed-ip", "203.0.113.0/24", "--requests-per-second", "10"], env: env)
        let id = try #require(try json(created.stdout)["id"] as? String)
        let before = try await Self.storedSettings(pool, id)
        let tokensBefore = try await pool.query("SELECT count(*) AS n FROM access_tokens").first!.decode("n", as: Int.self)
        let audit = "SELECT count(*) AS n FROM audit_events WHERE action IN ('token.created', 'token.updated')"
        let auditedBefore = try await pool.query(Query(unsafeSQL: audit)).first!.decode("n", as: Int.self)

        // What each bad value must say: the flag, or the entry itself.
        let refused: [([String], String)] = [
            (["--requests-per-second", "0"], "--requests-per-second must be a whole number from 1 to 1000000"),
            (["--requests-per-second=-5"], "--requests-per-second must be a whole number from 1 to 1000000"),
            (["--requests-per-second", "-5"], "--requests-per-second"),
            (["--requests-per-second", "1000001"], "--requests-per-second must be a whole number from 1 to 1000000"),
            (["--requests-per-second", "99999999999999999999"], "requests-per-second"),
            (["--requests-per-second", "1.5"], "requests-per-second"),
            (["--requests-per-second", "10", "--burst", "2000000"], "--burst must be a whole number from 1 to 1000000"),
            (["--requests-per-second", "10", "--events-per-second", "0"], "--events-per-second must be a whole number"),
            (["--allowed-ip", "not-an-ip"], #"--allowed-ip entry "not-an-ip" is not a CIDR block"#),
            (["--allowed-ip", "10.0.0.1/8"], #"--allowed-ip entry "10.0.0.1/8""#),
            (["--allowed-ip", "10.0.0.0/33"], #"--allowed-ip entry "10.0.0.0/33""#),
            (["--allowed-origin", "https://app.example.com/path"], #"--allowed-origin entry "https://app.example.com/path""#),
            (["--allowed-origin", "*"], #"--allowed-origin entry "*""#),
            (["--allowed-origin", "app.example.com"], #"--allowed-origin entry "app.example.com""#),
        ]
        for (arguments, message) in refused {
            for command in [["token", "create", "--account", accountID], ["token", "update", "--account", accountID, id]] {
                let answer = try await KeyflareProcess.run(command + arguments, env: env)
                #expect(answer.status != 0, "\(command[1]) \(arguments)")
                #expect(answer.stderr.contains(message), "\(command[1]) \(arguments): \(answer.stderr)")
                #expect(!answer.stdout.contains("kf_"), "\(command[1]) \(arguments)")
            }
        }
        // A burst with no rate: on create, and on update of a token without a limit.
        let burstOnly = try await KeyflareProcess.run(["token", "create", "--account", accountID, "--burst", "5"], env: env)
        #expect(burstOnly.status != 0 && burstOnly.stderr.contains("need --requests-per-second"), "\(burstOnly.stderr)")
        // Contradictions, and an update that changes nothing.
        for (arguments, message) in [
            (["--clear-rate-limit", "--burst", "5"], "--clear-rate-limit contradicts"),
            (["--clear-allowed-ips", "--allowed-ip", "10.0.0.0/8"], "--clear-allowed-ips contradicts --allowed-ip"),
            (["--clear-allowed-origins", "--allowed-origin", "https://a.example"], "--clear-allowed-origins contradicts --allowed-origin"),
            (["--no-require-origin", "--require-origin"], "--no-require-origin contradicts --require-origin"),
            ([], "nothing to change"),
        ] {
            let answer = try await KeyflareProcess.run(["token", "update", "--account", accountID, id] + arguments, env: env)
            #expect(answer.status != 0, "\(arguments)")
            #expect(answer.stderr.contains(message), "\(arguments): \(answer.stderr)")
        }
        #expect(try await Self.storedSettings(pool, id) == before)
        #expect(try await pool.query("SELECT count(*) AS n FROM access_tokens").first!.decode("n", as: Int.self) == tokensBefore)
        #expect(try await pool.query(Query(unsafeSQL: audit)).first!.decode("n", as: Int.self) == auditedBefore)
    }

    @Test func accountDefaultRateLimitIsSetShownAndCleared() async throws {
        let (db, env, accountID) = try await Self.accountFixture()
        let pool = db.pool()
        defer { Task { await pool.close() } }
        let account = try #require(UUID(uuidString: accountID))
        func stored() async throws -> String {
            try await pool.query(
                """
                SELECT concat_ws(' | ', default_rate_limit_rps::text, default_rate_limit_burst::text, default_rate_limit_eps::text) AS s
                FROM accounts WHERE id = \(account)
                """
            ).first!.decode("s")
        }
        let set = try await KeyflareProcess.run(
            ["account", "default-rate-limit", "--account", accountID, "--requests-per-second", "5", "--burst", "10", "--events-per-second", "20"],
            env: env)
        #expect(set.status == 0, "\(set.stderr)")
        let shown = try json(set.stdout)
        #expect(shown["id"] as? String == accountID && shown["name"] as? String == "Ops")
        let limit = try #require(shown["default_rate_limit"] as? [String: Any])
        #expect(limit["requests_per_second"] as? Int == 5 && limit["burst"] as? Int == 10 && limit["events_per_second"] as? Int == 20)
        #expect(try await stored() == "5 | 10 | 20")
        // Setting it again replaces the whole default: the burst defaults to the rate.
        let again = try await KeyflareProcess.run(["account", "default-rate-limit", "--account", accountID, "--requests-per-second", "8"], env: env)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try await stored() == "8 | 8")

        for (arguments, message) in [
            (["--requests-per-second", "0"], "--requests-per-second must be a whole number from 1 to 1000000"),
            (["--requests-per-second", "5", "--burst", "5000000"], "--burst must be a whole number"),
            (["--burst", "5"], "give --requests-per-second"),
            ([], "give --requests-per-second"),
            (["--clear", "--requests-per-second", "5"], "--clear contradicts"),
        ] {
            let answer = try await KeyflareProcess.run(["account", "default-rate-limit", "--account", accountID] + arguments, env: env)
            #expect(answer.status != 0, "\(arguments)")
            #expect(answer.stderr.contains(message), "\(arguments): \(answer.stderr)")
            #expect(try await stored() == "8 | 8", "\(arguments)")
        }
        let unknown = try await KeyflareProcess.run(
            ["account", "default-rate-limit", "--account", UUID().uuidString, "--requests-per-second", "5"], env: env)
        #expect(unknown.status == 1 && unknown.stderr.contains("no account"), "\(unknown.stderr)")

        let cleared = try await KeyflareProcess.run(["account", "default-rate-limit", "--account", accountID, "--clear"], env: env)
        #expect(cleared.status == 0, "\(cleared.stderr)")
        #expect(try json(cleared.stdout)["default_rate_limit"] is NSNull)
        #expect(try await stored() == "")
        // Set, replaced, cleared: three changes, each audited as the operator's; refusals left nothing.
        let audited = try await pool.query(
            "SELECT count(*) AS n FROM audit_events WHERE account_id = \(account) AND action = 'account.updated' AND actor_type = 'operator'"
        ).first!.decode("n", as: Int.self)
        #expect(audited == 3)
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

    /// `account token-policy`: set, enforced on create and import, cleared; bad values stored nothing.
    @Test func theTokenPolicyIsSetAndEnforcedFromTheCLI() async throws {
        let db = try await TestDatabase.migrated()
        let env = ["KEYFLARE_DATABASE_URL": db.url]
        let account = try await KeyflareProcess.run(["account", "create", "--name", "Ops", "--email", "policy@ops.test"], env: env)
        let accountID = try #require(try json(account.stdout)["account_id"] as? String)
        let set = try await KeyflareProcess.run(["account", "token-policy", "--account", accountID, "--max-lifetime-days", "7"], env: env)
        #expect(set.status == 0, "\(set.stderr)")
        let shown = try json(set.stdout)
        #expect((shown["token_policy"] as? [String: Any])?["max_lifetime_days"] as? Int == 7)
        #expect((shown["tokens_over_policy"] as? [String])?.count == 1, "the account's first management token never expires")

        let forever = try await KeyflareProcess.run(["token", "create", "--account", accountID], env: env)
        #expect(forever.status != 0 && forever.stderr.contains("requires an expiry of at most 7 days"), "\(forever.stderr)")
        let long = try await KeyflareProcess.run(["token", "create", "--account", accountID, "--expires-in", "\(8 * 86_400)"], env: env)
        #expect(long.status != 0 && long.stderr.contains("at most 7 days"), "\(long.stderr)")
        #expect(try await KeyflareProcess.run(["token", "create", "--account", accountID, "--expires-in", "86400"], env: env).status == 0)
        let imported = try await KeyflareProcess.run(
            ["token", "import", "--account", accountID, "--value-stdin"], env: env, stdin: "an-imported-secret-of-another-format-0001\n")
        #expect(imported.status != 0 && imported.stderr.contains("requires an expiry"), "\(imported.stderr)")
        // A canary grants nothing and lies in wait: the policy does not apply to it.
        let canary = try await KeyflareProcess.run(
            ["token", "create", "--account", accountID, "--scopes", "management", "--canary", "--description", "bait"], env: env)
        #expect(canary.status == 0, "\(canary.stderr)")
        #expect(try json(canary.stdout)["canary"] as? Bool == true)
        let listed = try await KeyflareProcess.run(["token", "list", "--account", accountID, "--format", "table"], env: env)
        #expect(listed.stdout.contains("active (canary)"), "\(listed.stdout)")

        for (arguments, message) in [
            (["--max-lifetime-days", "0"], "--max-lifetime-days must be a whole number from 1 to 3650"),
            (["--max-lifetime-days", "4000"], "--max-lifetime-days must be a whole number from 1 to 3650"),
            ([], "give --max-lifetime-days"),
            (["--clear", "--expiry-required"], "--clear contradicts"),
        ] {
            let answer = try await KeyflareProcess.run(["account", "token-policy", "--account", accountID] + arguments, env: env)
            #expect(answer.status != 0 && answer.stderr.contains(message), "\(arguments): \(answer.stderr)")
        }
        let cleared = try await KeyflareProcess.run(["account", "token-policy", "--account", accountID, "--clear"], env: env)
        #expect(cleared.status == 0)
        #expect(try json(cleared.stdout)["token_policy"] is NSNull)
        #expect(try await KeyflareProcess.run(["token", "create", "--account", accountID], env: env).status == 0)
        let pool = db.pool(max: 1)
        let audited = try await pool.query(
            "SELECT count(*) AS n FROM audit_events WHERE action = 'account.updated' AND actor_type = 'operator'"
        ).first!.decode("n", as: Int.self)
        await pool.close()
        #expect(audited == 2, "set and cleared; the refusals changed nothing")
    }
}
