import Foundation
import HTTPTypes
import HummingbirdTesting
import KeyflareCore
import KeyflareHTTP
import Testing

@testable import KeyflareTestSupport

@Suite struct EndpointTests {
    /// An account with a source holding `count` events, and its management token.
    func seeded(_ t: TestApp, name: String = "Acme", source: String = "app-logs", count: Int = 3) async throws
        -> (account: UUID, management: String, source: UUID)
    {
        let (account, management) = try await t.account(name)
        let sourceID = try await t.source(source, account: account)
        let events = (0..<count).map { i in
            let message = i % 2 == 0 ? "even \(i)" : "odd \(i)"
            return IngestEvent(
                timestamp: Date(timeIntervalSince1970: 1_700_000_000 + Double(i)),
                json: #"{"i":\#(i),"message":"\#(message)","level":"\#(i % 2 == 0 ? "error" : "info")","tags":["a","b"],"ok":true}"#
            )
        }
        try await t.events(events, source: sourceID, account: account)
        return (account, management, sourceID)
    }

    @Test func crudAndValidation() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (_, management, _) = try await seeded(t)
        try await t.application().test(.router) { client throws in
            let created = try await client.send(
                "/api/endpoints", method: .post, headers: .apiKey(management),
                body: #"{"name":"errors.by-level_v2","description":"d","sql":"select * from \"app-logs\" where body->>'level' = @level and (body->>'i')::int >= @min -- @ignored\n","max_limit":50}"#
            )
            #expect(created.status == .created, "\(created.body)")
            let object = try json(created.body)
            let id = try #require(object["id"] as? String)
            #expect(object["params"] as? [String] == ["level", "min"])
            #expect(object["enable_auth"] as? Bool == true)
            #expect(object["max_limit"] as? Int == 50)

            for (body, status, needle) in [
                (#"{"name":"errors.by-level_v2","sql":"select 1"}"#, HTTPResponse.Status.conflict, "already exists"),
                (#"{"name":"has space","sql":"select 1"}"#, .unprocessableContent, "name"),
                (#"{"name":"x","sql":"select 1","max_limit":0}"#, .unprocessableContent, "max_limit"),
                (#"{"name":"x","sql":"select 1","max_limit":10001}"#, .unprocessableContent, "max_limit"),
                (#"{"name":"x","sql":"selec 1"}"#, .unprocessableContent, "syntax error"),
                (#"{"name":"x","sql":"select * from nowhere"}"#, .unprocessableContent, "does not exist"),
                (#"{"name":"x","sql":"   ;  "}"#, .unprocessableContent, "empty"),
                (#"{"name":"x"}"#, .badRequest, "sql"),
            ] {
                let response = try await client.send("/api/endpoints", method: .post, headers: .apiKey(management), body: body)
                #expect(response.status == status, "\(body): \(response.body)")
                #expect(response.body.contains(needle), "\(body): \(response.body)")
            }

            let patched = try await client.send(
                "/api/endpoints/\(id)", method: .patch, headers: .apiKey(management), body: #"{"enable_auth":false,"sql":"select count(*) as n from \"app-logs\""}"#
            )
            #expect(patched.status == .ok, "\(patched.body)")
            #expect(try json(patched.body)["params"] as? [String] == [])
            #expect(try json(patched.body)["name"] as? String == "errors.by-level_v2")
            #expect(try await client.send("/api/endpoints/\(id)", method: .patch, headers: .apiKey(management), body: #"{"sql":"select * from access_tokens"}"#).status == .unprocessableContent)
            let list = try jsonArray(try await client.send("/api/endpoints", headers: .apiKey(management)).body)
            #expect(list.count == 1)
            #expect(try await client.send("/api/endpoints/\(id)", method: .delete, headers: .apiKey(management)).status == .noContent)
            #expect(try await client.send("/api/endpoints/\(id)", headers: .apiKey(management)).status == .notFound)
        }
    }

    @Test func runsWithTypedJSONParametersAndTheRowCap() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (account, management, _) = try await seeded(t, count: 20)
        try await t.application().test(.router) { client throws in
            let created = try await client.send(
                "/api/endpoints", method: .post, headers: .apiKey(management),
                body: #"{"name":"recent","max_limit":5,"sql":"select \"timestamp\", event_message, body, (body->>'i')::int as i, 1.5::numeric as x, null::text as nothing from \"app-logs\" where body->>'level' = @level order by (body->>'i')::int"}"#
            )
            #expect(created.status == .created, "\(created.body)")
            let id = try #require(json(created.body)["id"] as? String)
            let query = try await t.token([.queryEndpoint(UUID(uuidString: id)!)], account: account)

            // By name with GET parameters, and by id with a JSON body.
            let byName = try await client.send("/api/endpoints/query/recent?level=error", headers: .apiKey(query.secret))
            #expect(byName.status == .ok, "\(byName.body)")
            let rows = try #require(json(byName.body)["result"] as? [[String: Any]])
            #expect(rows.count == 5, "max_limit caps the rows")
            #expect(rows.map { $0["i"] as? Int } == [0, 2, 4, 6, 8])
            let first = rows[0]
            #expect(first["event_message"] as? String == "even 0")
            #expect(first["x"] as? Double == 1.5)
            #expect(first["nothing"] is NSNull)
            #expect((first["body"] as? [String: Any])?["tags"] as? [String] == ["a", "b"])
            #expect((first["body"] as? [String: Any])?["ok"] as? Bool == true)
            let stamp = try #require(first["timestamp"] as? String)
            #expect(RFC3339.parse(stamp)?.timeIntervalSince1970 == 1_700_000_000, "\(stamp)")

            let byID = try await client.send("/api/endpoints/query/\(id)", method: .post, headers: .bearer(query.secret), body: #"{"level":"info"}"#)
            #expect(byID.status == .ok)
            #expect((try json(byID.body)["result"] as? [[String: Any]])?.map { $0["i"] as? Int } == [1, 3, 5, 7, 9])

            let missing = try await client.send("/api/endpoints/query/recent", headers: .apiKey(query.secret))
            #expect(missing.status == .badRequest)
            #expect(missing.body.contains("missing parameter: level"))
        }
    }

    @Test func publicEndpointsNeedNoTokenButRejectABadOne() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (_, management, _) = try await seeded(t)
        try await t.application().test(.router) { client throws in
            let open = try json(try await client.send(
                "/api/endpoints", method: .post, headers: .apiKey(management),
                body: #"{"name":"count","enable_auth":false,"sql":"select count(*) as n from \"app-logs\""}"#
            ).body)
            let closed = try json(try await client.send(
                "/api/endpoints", method: .post, headers: .apiKey(management), body: #"{"name":"private","sql":"select 1 as one"}"#
            ).body)
            let openID = try #require(open["id"] as? String)
            let closedID = try #require(closed["id"] as? String)

            let anonymous = try await client.send("/api/endpoints/query/\(openID)")
            #expect(anonymous.status == .ok)
            #expect(anonymous.body == #"{"result":[{"n":3}]}"#)
            let badToken = try await client.send("/api/endpoints/query/\(openID)", headers: .apiKey("kf_pub_garbage"))
            #expect(badToken.status == .unauthorized)
            // Without a token, nothing else answers, and nothing says whether it exists.
            let closedAnonymous = try await client.send("/api/endpoints/query/\(closedID)")
            let missingAnonymous = try await client.send("/api/endpoints/query/\(UUID())")
            let byNameAnonymous = try await client.send("/api/endpoints/query/count")
            #expect(closedAnonymous.status == .unauthorized)
            #expect(closedAnonymous.body == missingAnonymous.body)
            #expect(byNameAnonymous.status == .unauthorized)
            #expect(try await client.send("/api/endpoints/query/\(closedID)", headers: .apiKey(management)).status == .ok)
        }
    }

    /// Every way out of the sandbox that the contract lists is tried, at creation (422) and, for
    /// endpoints planted with raw SQL past that check, at run time (4xx); nothing in the database
    /// may change.
    @Test func theSandboxHolds() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (account, management, _) = try await seeded(t, name: "Alpha")
        let (other, _, theirSource) = try await seeded(t, name: "Beta", source: "their-logs")
        _ = other
        let before = try await snapshot(t)
        let attempts = [
            #"select * from "their-logs""#,
            "select * from events",
            "select * from public.events where source_id = '\(theirSource)'",
            "select * from access_tokens",
            "select * from users",
            "select * from accounts",
            "select * from sandbox_roles",
            "select 1; delete from events",
            "delete from events",
            "with gone as (delete from events returning *) select * from gone",
            "update events set body = '{}'",
            "set role keyflare",
            "reset role",
            "set session authorization keyflare",
            "select set_config('role', 'keyflare', true)",
            "select set_config('session_authorization', 'keyflare', true)",
            "select set_config('role', 'none', true), (select count(*) from access_tokens)",
            "copy events to stdout",
            "copy (select 1) to program 'id'",
            "select pg_read_file('/etc/passwd')",
            "select lo_import('/etc/passwd')",
            "select * from dblink('dbname=postgres', 'select 1') as t(x int)",
            "select query_to_xml('select * from access_tokens', true, true, '')",
            "select keyflare_create_sandbox_role('x', 'y')",
            "create table stolen as select 1",
        ]
        let app = try t.instance(configure: { $0.queryTimeoutSeconds = 1 })
        try await app.application.test(.router) { client throws in
            for sql in attempts {
                let body = try String(decoding: JSONSerialization.data(withJSONObject: ["name": "escape", "sql": sql]), as: UTF8.self)
                let response = try await client.send("/api/endpoints", method: .post, headers: .apiKey(management), body: body)
                if response.status == .created {
                    // EXPLAIN only plans: what fails at run time only (set_config) must fail there.
                    let id = try #require(json(response.body)["id"] as? String)
                    let ran = try await client.send("/api/endpoints/query/\(id)", headers: .apiKey(management))
                    #expect((400..<500).contains(ran.status.code), "ran: \(sql) → \(ran.status.code) \(ran.body)")
                    #expect(try await client.send("/api/endpoints/\(id)", method: .delete, headers: .apiKey(management)).status == .noContent)
                } else {
                    #expect(response.status == .unprocessableContent, "created: \(sql) → \(response.status.code) \(response.body)")
                }
            }
            // The same SQL planted directly (as if validation had been skipped) fails when run.
            for (i, sql) in attempts.enumerated() {
                let id: UUID = try await t.pool.query(
                    "INSERT INTO endpoints (account_id, name, sql) VALUES (\(account), \("planted-\(i)"), \(sql)) RETURNING id"
                ).first!.decode("id")
                let response = try await client.send("/api/endpoints/query/\(id)", headers: .apiKey(management))
                #expect((400..<500).contains(response.status.code), "ran: \(sql) → \(response.status.code) \(response.body)")
                #expect(!response.body.contains("their-logs") || sql.contains("their-logs"))
            }
            // An injection attempt in a parameter value is only ever a value.
            let created = try await client.send(
                "/api/endpoints", method: .post, headers: .apiKey(management),
                body: #"{"name":"by-level","sql":"select count(*) as n from \"app-logs\" where body->>'level' = @level"}"#
            )
            #expect(created.status == .created)
            let injected = try await client.send(
                "/api/endpoints/query/by-level", method: .post, headers: .apiKey(management),
                body: #"{"level":"x'; delete from events; --"}"#
            )
            #expect(injected.status == .ok)
            #expect(injected.body == #"{"result":[{"n":0}]}"#)
            // pg_sleep is revoked from the sandbox (migrations/0013), so it is refused when created.
            let refused = try await client.send(
                "/api/endpoints", method: .post, headers: .apiKey(management), body: #"{"name":"sleepy","sql":"select pg_sleep(60)"}"#
            )
            #expect(refused.status == .unprocessableContent)
            #expect(refused.body.contains("permission denied for function pg_sleep"))
            // The timeout holds: a minute of counting is cut off after the configured second.
            let sleepy = try await client.send(
                "/api/endpoints", method: .post, headers: .apiKey(management),
                body: #"{"name":"sleepy","sql":"select count(*) from generate_series(1, 100000) a, generate_series(1, 100000) b"}"#
            )
            #expect(sleepy.status == .created)
            let clock = ContinuousClock()
            let start = clock.now
            let slept = try await client.send("/api/endpoints/query/sleepy", headers: .apiKey(management))
            #expect(slept.status == .requestTimeout)
            #expect(slept.body.contains("limit"))
            #expect(clock.now - start < .seconds(30))
        }
        #expect(try await snapshot(t) == before, "nothing in the database changed")
    }

    /// What an escape would change: every event, every token's state, Keyflare's own role, and any
    /// table created. (Sandbox roles are created on first use, so they are checked apart.)
    func snapshot(_ t: TestApp) async throws -> [String] {
        let events = try await t.pool.query("SELECT id::text || body::text AS v FROM events ORDER BY id").rows
        let tokens = try await t.pool.query(
            "SELECT id::text || coalesce(revoked_at::text, '-') || array_to_string(scopes, ',') AS v FROM access_tokens ORDER BY id"
        ).rows
        let roles = try await t.pool.query(
            "SELECT rolname || rolsuper::text || rolcreaterole::text AS v FROM pg_roles WHERE rolname = current_user"
        ).rows
        let tables = try await t.pool.query(
            "SELECT count(*)::text AS v FROM pg_class WHERE relname IN ('stolen')"
        ).rows
        let sandboxRoles = try await t.pool.query(
            """
            SELECT count(*)::text AS v FROM pg_roles
            WHERE rolname LIKE 'kf_sandbox_%' AND (rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls OR rolreplication)
            """
        ).rows
        return try (events + tokens + roles + tables + sandboxRoles).map { try $0.decode("v", as: String.self) }
    }
}
