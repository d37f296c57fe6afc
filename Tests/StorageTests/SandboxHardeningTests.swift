import Foundation
import HTTPTypes
import HummingbirdTesting
import KeyflareCore
import KeyflareHTTP
import KeyflareStore
import PQ
import PQServices
import Testing

@testable import KeyflareTestSupport

/// The endpoint sandbox, function by function: nothing a tenant's SQL runs may outlive its
/// transaction, reach beyond its account, or hold what the shared database needs.
@Suite struct SandboxHardeningTests {
    /// An account whose sandbox role exists (one endpoint has run), its management token and a source.
    func sandboxed(_ t: TestApp) async throws -> (account: UUID, management: String, role: String) {
        let (account, management) = try await t.account()
        _ = try await t.source("web", account: account)
        let endpoint = try await EndpointStore(pool: t.pool).create(
            EndpointDraft(name: "warmup", description: "", sql: "select 1 as one", enableAuth: true, maxLimit: 10),
            accountID: account, actor: .operator)
        try await t.application().test(.router) { client throws in
            let ran = try await client.send("/api/endpoints/query/\(endpoint.id.uuidString.lowercased())", headers: .apiKey(management))
            #expect(ran.status == .ok, "\(ran.body)")
        }
        let role: String = try await t.pool.query("SELECT role_name FROM sandbox_roles WHERE account_id = \(account)").first!
            .decode("role_name")
        return (account, management, role)
    }

    /// Another account with a source and an ingest token, to check it keeps working.
    func otherAccount(_ t: TestApp) async throws -> (source: UUID, token: String) {
        let other = try await t.account("Other")
        return (try await t.source("theirs", account: other.id), try await t.token([.ingest], account: other.id).secret)
    }

    /// An endpoint stored as it is, without the create-time check, so that its SQL meets the run-time one.
    func planted(_ t: TestApp, _ sql: String, account: UUID) async throws -> UUID {
        try await t.pool.query(
            "INSERT INTO endpoints (account_id, name, sql) VALUES (\(account), 'planted', \(sql)) RETURNING id"
        ).first!.decode("id")
    }

    /// Bytes of WAL since `lsn` that this test's database wrote, plus every logical message (which
    /// belongs to no database). pg_walinspect reads the records, so other suites' writes to the shared
    /// cluster do not count against this test.
    func walWritten(_ t: TestApp, since lsn: String) async throws -> Int {
        try await t.pool.query("CREATE EXTENSION IF NOT EXISTS pg_walinspect")
        let database: Int = try await t.pool.query(
            "SELECT oid::int AS o FROM pg_database WHERE datname = current_database()").first!.decode("o")
        return try await t.pool.query(
            """
            SELECT coalesce(sum(record_length), 0)::bigint AS n
            FROM pg_get_wal_records_info(\(lsn)::pg_lsn, pg_current_wal_flush_lsn())
            WHERE resource_manager = 'LogicalMessage' OR block_ref LIKE \("%/\(database)/%")
            """
        ).first!.decode("n")
    }

    /// Every volatile catalog function a sandbox role can execute is in the inventory as allowed,
    /// and everything the inventory revokes is out of its reach. A PostgreSQL upgrade or a new
    /// extension that adds a function fails this test until the function has a decision.
    @Test func theInventoryCoversEveryFunctionTheSandboxCanRun() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (_, _, role) = try await sandboxed(t)
        // The most specific (longest) matching pattern decides, as in keyflare_sandbox.harden().
        let decisions: Query = """
            SELECT p.oid::regprocedure::text AS signature, p.proname, p.provolatile::text AS volatility,
                   has_function_privilege(\(role), p.oid, 'EXECUTE') AS executable,
                   (SELECT i.decision FROM keyflare_sandbox.inventory i
                    WHERE i.kind = 'function' AND p.proname LIKE i.pattern ORDER BY length(i.pattern) DESC LIMIT 1) AS decision
            FROM pg_proc p WHERE p.pronamespace = 'pg_catalog'::regnamespace
            """
        let rows = try await t.pool.query(decisions).rows
        var missing: [String] = []
        var reachable: [String] = []
        for row in rows {
            let executable = try row.decode("executable", as: Bool.self)
            let decision = try row.decodeIfPresent("decision", as: String.self)
            let signature = try row.decode("signature", as: String.self)
            if executable, try row.decode("volatility", as: String.self) == "v", decision != "allowed" {
                missing.append(signature)
            }
            if executable, decision == "revoked" { reachable.append(signature) }
        }
        #expect(missing.isEmpty, "volatile functions the sandbox can run that the inventory does not allow: \(missing)")
        #expect(reachable.isEmpty, "revoked functions the sandbox can still run: \(reachable)")
        let views = try await t.pool.query(
            """
            SELECT c.relname::text AS name FROM pg_class c
            WHERE c.relnamespace = 'pg_catalog'::regnamespace AND c.relkind = 'v'
              AND has_table_privilege(\(role), c.oid, 'SELECT')
              AND (c.relname LIKE 'pg_stat%' OR c.relname IN ('pg_locks', 'pg_prepared_xacts', 'pg_roles', 'pg_user', 'pg_group'))
            """
        ).rows.map { try $0.decode("name", as: String.self) }
        #expect(views.isEmpty, "views of other sessions the sandbox can read: \(views)")
        let grants = try await t.pool.query(
            "SELECT routine_name::text AS name FROM information_schema.role_routine_grants WHERE grantee = \(role)"
        ).rows.map { try $0.decode("name", as: String.self) }.sorted()
        #expect(grants == ["hide_sources", "open_sources"], "routines granted to the sandbox role: \(grants)")
    }

    @Test func sandboxRolesCarryLimitsTheirSQLCannotRaise() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (account, management, role) = try await sandboxed(t)
        let settings = try await t.pool.query(
            """
            SELECT unnest(s.setconfig) AS setting FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
            WHERE r.rolname = \(role)
            """
        ).rows.map { try $0.decode("setting", as: String.self) }
        for expected in ["work_mem=16MB", "lock_timeout=1s", "idle_in_transaction_session_timeout=30s", "temp_file_limit=256MB"] {
            #expect(settings.contains(expected), "\(role) lacks \(expected): \(settings)")
        }
        let endpoints = EndpointStore(pool: t.pool)
        let raise = try await endpoints.create(
            EndpointDraft(
                name: "raise", description: "",
                sql: "select set_config('work_mem', '10GB', true) as w, current_setting('work_mem') as now", enableAuth: true,
                maxLimit: 10),
            accountID: account, actor: .operator)
        let read = try await endpoints.create(
            EndpointDraft(name: "read", description: "", sql: "select current_setting('work_mem') as w", enableAuth: true, maxLimit: 10),
            accountID: account, actor: .operator)
        try await t.application().test(.router) { client throws in
            let raised = try await client.send("/api/endpoints/query/\(raise.id.uuidString.lowercased())", headers: .apiKey(management))
            #expect(raised.status == .badRequest)
            #expect(raised.body.contains("permission denied for function set_config"), "\(raised.body)")
            let current = try await client.send("/api/endpoints/query/\(read.id.uuidString.lowercased())", headers: .apiKey(management))
            #expect(current.body.contains(#""w":"16MB""#), "\(current.body)")
        }
    }

    /// One test per function class the contract names: refused at run time (400), nothing held or
    /// written afterwards, migrations finish at once, and another account still ingests.
    @Test(arguments: [
        "select pg_advisory_lock(42) as l",
        "select pg_try_advisory_lock(42) as l",
        "select pg_logical_emit_message(false, 'x', repeat('y', 1000000)) as m from generate_series(1, 40)",
        "select pg_notify('keyflare_tokens', 'flush') as n",
        "select pg_terminate_backend(pg_backend_pid()) as t",
        "select lo_import('/etc/passwd') as o",
        "select pid, query from pg_stat_activity",
        "select * from pg_locks",
        "select rolname from pg_roles",
        "select query_to_xml('select pg_advisory_lock(7)', true, false, '') as x",
    ])
    func aFunctionOutsideTheTransactionIsRefusedAndLeavesNothing(_ sql: String) async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (account, management, role) = try await sandboxed(t)
        let other = try await otherAccount(t)
        let endpoint = try await planted(t, sql, account: account)
        let walBefore: String = try await t.pool.query("SELECT pg_current_wal_lsn()::text AS l").first!.decode("l")
        try await t.application().test(.router) { client throws in
            let ran = try await client.send("/api/endpoints/query/\(endpoint.uuidString.lowercased())", headers: .apiKey(management))
            #expect(ran.status == .badRequest, "\(sql) → \(ran.status.code) \(ran.body)")
            #expect(ran.body.contains("permission denied"), "\(ran.body)")
            let ingested = try await client.send(
                "/api/logs?source=\(other.source.uuidString.lowercased())", method: .post, headers: .apiKey(other.token),
                body: #"{"message":"still here"}"#)
            #expect(ingested.status == .ok)
        }
        let held = try await t.count(
            """
            SELECT count(*) AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND a.usename = \(role)
            """)
        #expect(held == 0, "a sandbox session still holds an advisory lock")
        #expect(try await walWritten(t, since: walBefore) < 1_048_576, "the run wrote WAL that outlived it")
        let started = ContinuousClock.now
        let migrator = Migrator(
            migrations: try Migration.resolve(configured: nil), logger: TestDatabase.quietLogger, lockTimeout: .seconds(2))
        #expect(try await migrator.migrate(on: t.pool).isEmpty)
        #expect(ContinuousClock.now - started < .seconds(2), "migrations waited for a lock")
    }

    @Test func aMigrationThatWaitsTooLongNamesTheSessionHoldingTheLock() async throws {
        let db = try await TestDatabase.migrated()
        let holder = try Connection.connect(db.url, options: [("application_name", "lock-holder")])
        defer { holder.close() }
        try holder.execute("BEGIN")
        try holder.execute("SELECT pg_advisory_xact_lock(\(Int64(0x6b65_7966_6c61_7265)))")
        let pid: Int = try holder.execute("SELECT pg_backend_pid() AS pid").first!.decode("pid")
        let pool = db.pool()
        defer { Task { await pool.close() } }
        let migrator = Migrator(
            migrations: try Migration.resolve(configured: nil), logger: TestDatabase.quietLogger, lockTimeout: .milliseconds(300))
        do {
            _ = try await migrator.migrate(on: pool)
            Issue.record("migrate did not wait for the lock")
        } catch let error as MigrationError {
            #expect(error.message.contains("held by pid \(pid) (application lock-holder"), "\(error.message)")
            #expect(!error.message.contains("\n"))
        }
        try holder.execute("ROLLBACK")
        #expect(try await migrator.migrate(on: pool).isEmpty)
    }

    /// "The latest 10 events of a source" walks the (source_id, timestamp) index: the source views are
    /// plain views, and isolation is the row-level security policy on events (migrations/0014).
    @Test func latestEventsOfASourceUseTheIndex() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (account, _, role) = try await sandboxed(t)
        let web: UUID = try await t.pool.query("SELECT id FROM sources WHERE account_id = \(account) AND name = 'web'").first!.decode("id")
        let other = try await t.account("Other")
        let theirs = try await t.source("theirs", account: other.id)
        for (owner, source) in [(account, web), (other.id, theirs)] {
            try await t.pool.query(
                """
                INSERT INTO events (account_id, source_id, "timestamp", event_message, body)
                SELECT \(owner), \(source), now() - make_interval(secs => n), 'event ' || n,
                       jsonb_build_object('level', CASE WHEN n % 50 = 0 THEN 'warn' ELSE 'info' END, 'n', n)
                FROM generate_series(1, 30000) AS n
                """)
        }
        try await t.pool.query("ANALYZE events")
        let password = try await SandboxKey.stored(in: t.pool).password(for: role)
        let sandbox = try Connection.connect(t.db.url, options: [("user", role), ("password", password)])
        defer { sandbox.close() }
        try sandbox.executeScript(unsafeSQL: "BEGIN")
        try sandbox.execute("SELECT keyflare_sandbox.open_sources(\(["web", "select", "event_message"]))")
        try sandbox.executeScript(unsafeSQL: "SET TRANSACTION READ ONLY")
        defer { _ = try? sandbox.executeScript(unsafeSQL: "ROLLBACK") }
        for sql in [
            #"select event_message from web order by "timestamp" desc limit 10"#,
            #"select event_message from web where body->>'level' = 'warn' order by "timestamp" desc limit 10"#,
        ] {
            let plan = try sandbox.executeScript(unsafeSQL: "EXPLAIN " + sql).rows.compactMap { $0["QUERY PLAN"] }.joined(separator: "\n")
            #expect(plan.contains("Index Scan using events_source_timestamp_idx"), "\(sql):\n\(plan)")
            #expect(!plan.contains("Seq Scan on events"), "\(sql):\n\(plan)")
            #expect(!plan.contains("Sort "), "\(sql):\n\(plan)")
        }
        let latest = try sandbox.executeScript(unsafeSQL: #"select event_message from web order by "timestamp" desc limit 10"#)
        #expect(latest.rows.compactMap { $0["event_message"] } == (1...10).map { "event \($0)" })
        // The table itself stays out of reach: only the views can be read.
        try sandbox.executeScript(unsafeSQL: "SAVEPOINT direct")
        #expect(throws: PQError.self) { try sandbox.executeScript(unsafeSQL: "select count(*) from public.events") }
        try sandbox.executeScript(unsafeSQL: "ROLLBACK TO SAVEPOINT direct")
    }

    /// A tenant's cast that fails prints the value it failed on; it must only ever meet the
    /// tenant's own rows, whatever plan PostgreSQL picks.
    @Test func aFailingCastNeverPrintsAnotherAccountsData() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (account, management, _) = try await sandboxed(t)
        let web: UUID = try await t.pool.query("SELECT id FROM sources WHERE account_id = \(account) AND name = 'web'").first!.decode("id")
        let other = try await t.account("Other")
        let theirs = try await t.source("theirs", account: other.id)
        try await t.pool.query(
            """
            INSERT INTO events (account_id, source_id, "timestamp", event_message, body)
            SELECT \(other.id)::uuid, \(theirs)::uuid, now(), 'secret', '{"n": "TOPSECRET-4711"}'::jsonb FROM generate_series(1, 2000)
            UNION ALL
            SELECT \(account)::uuid, \(web)::uuid, now(), 'mine', jsonb_build_object('n', n) FROM generate_series(1, 2000) AS n
            """)
        try await t.pool.query("ANALYZE events")
        let endpoints = EndpointStore(pool: t.pool)
        var ids: [UUID] = []
        for (i, sql) in [
            "select count(*) as n from web where (body->>'n')::int > 0",
            "select count(*) as n from web where (body->>'n')::int > 0 or id is null",
            "select * from web w where (w.body->>'n')::int = (select max((body->>'n')::int) from web)",
        ].enumerated() {
            ids.append(try await endpoints.create(
                EndpointDraft(name: "cast-\(i)", description: "", sql: sql, enableAuth: true, maxLimit: 10), accountID: account,
                actor: .operator).id)
        }
        let endpointIDs = ids
        try await t.application().test(.router) { client throws in
            for id in endpointIDs {
                let ran = try await client.send("/api/endpoints/query/\(id.uuidString.lowercased())", headers: .apiKey(management))
                #expect(!ran.body.contains("TOPSECRET"), "\(ran.body)")
                #expect(ran.status == .ok, "\(ran.body)")
            }
        }
    }

    /// A run opens views only for the sources its statement names, so its cost (and the locks it
    /// holds) do not grow with the account's number of sources.
    @Test func aRunOpensOnlyTheSourcesItsStatementNames() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (account, management, role) = try await sandboxed(t)
        try await t.pool.query(
            "INSERT INTO sources (account_id, name) SELECT \(account), 'source-' || n FROM generate_series(1, 2000) AS n")
        try await t.pool.query(#"INSERT INTO sources (account_id, name) VALUES (\#(account), 'Mixed Case'), (\#(account), 'lower')"#)
        let password = try await SandboxKey.stored(in: t.pool).password(for: role)
        let sandbox = try Connection.connect(t.db.url, options: [("user", role), ("password", password)])
        defer { sandbox.close() }
        let sql = #"select count(*) from "Mixed Case" m, LOWER l where 'source-7' <> "source-8x" -- source-9"#
        let parsed = try EndpointSQL(parsing: sql)
        try sandbox.executeScript(unsafeSQL: "BEGIN")
        try sandbox.execute("SELECT keyflare_sandbox.open_sources(\(parsed.names.sorted()))")
        let views = try sandbox.execute(
            "SELECT relname::text AS name FROM pg_class WHERE relnamespace = pg_my_temp_schema() AND relkind = 'v' ORDER BY 1"
        ).rows.map { try $0.decode("name", as: String.self) }
        #expect(views == ["Mixed Case", "lower"], "strings, comments and unknown names open nothing: \(views)")
        try sandbox.executeScript(unsafeSQL: "ROLLBACK")
        // And through the API, the run answers as before.
        let endpoint = try await EndpointStore(pool: t.pool).create(
            EndpointDraft(name: "named", description: "", sql: #"select count(*) as n from "Mixed Case""#, enableAuth: true,
                maxLimit: 10),
            accountID: account, actor: .operator)
        try await t.application().test(.router) { client throws in
            let ran = try await client.send("/api/endpoints/query/\(endpoint.id.uuidString.lowercased())", headers: .apiKey(management))
            #expect(ran.body == #"{"result":[{"n":0}]}"#, "\(ran.body)")
        }
    }

    /// Deleting an account drops its sandbox role too, so no login outlives its tenant.
    @Test func aSandboxRoleLeavesWithItsAccount() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (account, _, role) = try await sandboxed(t)
        // Its pooled connections belong to the instance the warm-up ran on, which has stopped.
        #expect(try await t.count("SELECT count(*) AS n FROM pg_roles WHERE rolname = \(role)") == 1)
        try await t.pool.query("DELETE FROM accounts WHERE id = \(account)")
        #expect(try await t.count("SELECT count(*) AS n FROM sandbox_roles WHERE role_name = \(role)") == 0)
        #expect(try await t.count("SELECT count(*) AS n FROM pg_roles WHERE rolname = \(role)") == 0)
    }

    /// The worst memory and disk a tenant's SQL can ask for, twice at once: a string_agg that grows
    /// towards PostgreSQL's 1 GB value limit and a sort past work_mem into temp files. Each run fails
    /// with PostgreSQL's own reason; afterwards the database answers, another account still ingests,
    /// and no sandbox session is left working.
    @Test(arguments: [
        "select length(string_agg(repeat('x', 1000), '')) as n from generate_series(1, 3000000)",
        "select md5(n::text) as m from generate_series(1, 40000000) as n order by 1 desc limit 1",
    ])
    func twoHugeQueriesAtOnceFailAloneAndLeaveTheDatabaseWorking(_ sql: String) async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (account, management, role) = try await sandboxed(t)
        let other = try await otherAccount(t)
        let endpoint = try await planted(t, sql, account: account)
        let app = try t.instance(configure: { $0.queryTimeoutSeconds = 20 }).application
        try await app.test(.router) { client throws in
            let path = "/api/endpoints/query/\(endpoint.uuidString.lowercased())"
            async let first = client.send(path, headers: .apiKey(management))
            async let second = client.send(path, headers: .apiKey(management))
            for answer in try await [first, second] {
                #expect(answer.status == .badRequest, "\(answer.status.code) \(answer.body)")
                let reason = answer.body.contains("out of memory") || answer.body.contains("temp_file_limit")
                #expect(reason, "\(answer.body)")
            }
            let ingested = try await client.send(
                "/api/logs?source=\(other.source.uuidString.lowercased())", method: .post, headers: .apiKey(other.token),
                body: #"{"message":"still here"}"#)
            #expect(ingested.status == .ok)
        }
        #expect(try await t.count("SELECT count(*) AS n FROM events WHERE source_id = \(other.source)") == 1)
        let busy = try await t.count(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE usename = \(role) AND state <> 'idle'")
        #expect(busy == 0, "a sandbox session is still busy")
    }

    /// Sandbox passwords are derived from the sandbox key, never stored: the table has no password,
    /// the configured key logs the role in, another key does not, and changing the key sets the
    /// role's password again before its next run. The key never reaches a log line.
    @Test func sandboxPasswordsAreDerivedFromTheKeyAndNeverStored() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let columns = try await t.pool.query(
            "SELECT column_name::text AS c FROM information_schema.columns WHERE table_name = 'sandbox_roles'"
        ).rows.map { try $0.decode("c", as: String.self) }
        #expect(!columns.contains("password"), "\(columns)")
        let (account, management) = try await t.account()
        _ = try await t.source("web", account: account)
        let endpoint = try await t.endpoint("e", account: account)
        let first = String(repeating: "a1", count: 20), second = String(repeating: "b2", count: 20)
        func run(with secret: String) async throws {
            let app = try t.instance(configure: { $0.sandboxKey = secret }).application
            try await app.test(.router) { client throws in
                let ran = try await client.send("/api/endpoints/query/\(endpoint.uuidString.lowercased())", headers: .apiKey(management))
                #expect(ran.status == .ok, "\(ran.body)")
            }
        }
        func logsIn(_ role: String, _ key: SandboxKey) async -> Bool {
            let url = t.db.url
            return await Task.detached {
                guard let c = try? Connection.connect(url, options: [("user", role), ("password", key.password(for: role))]) else { return false }
                c.close()
                return true
            }.value
        }
        try await run(with: first)
        let row = try await t.pool.query("SELECT role_name, key_id FROM sandbox_roles WHERE account_id = \(account)").first!
        let role: String = try row.decode("role_name")
        let firstKey = try SandboxKey(secret: Array(first.utf8)), secondKey = try SandboxKey(secret: Array(second.utf8))
        #expect(try row.decode("key_id", as: String.self) == firstKey.id)
        #expect(await logsIn(role, firstKey))
        #expect(await !logsIn(role, secondKey))
        try await run(with: second)
        #expect(await logsIn(role, secondKey))
        #expect(await !logsIn(role, firstKey), "the old key's password still works")
        for secret in [first, second, firstKey.password(for: role), secondKey.password(for: role)] {
            #expect(!t.log.text.contains(secret), "a sandbox secret reached the log")
        }
        #expect(throws: ConfigurationError.self) {
            try KeyflareConfiguration(environment: ["KEYFLARE_SANDBOX_KEY": "too short"])
        }
    }
}
