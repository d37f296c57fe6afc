import Foundation
import HTTPTypes
import HummingbirdTesting
import KeyflareCore
import NIOCore
import Testing

@testable import KeyflareTestSupport

/// Sandboxable endpoints (Logflare's `sandboxable`, what Supabase Studio queries with `?sql=`): a
/// caller's statement over the endpoint's CTEs, in the same sandbox, with the endpoint's parameters.
@Suite struct SandboxedEndpointTests {
    struct Fixture {
        let t: TestApp
        let management: String
        let query: String

        /// An account with two sources: `app-logs` (projects a and b) and `secret`, and an endpoint
        /// `logs.all` whose CTE reads only project `@project` of `app-logs`.
        static func make(_ client: some TestClientProtocol, _ t: TestApp) async throws -> Fixture {
            let (account, management) = try await t.account()
            let source = try await t.source("app-logs", account: account)
            let secret = try await t.source("secret", account: account)
            let events = #"[{"message":"a1","project":"a","timestamp":"2026-12-01T10:00:00Z"},{"message":"b1","project":"b","timestamp":"2026-12-01T10:00:01Z"},{"message":"a2","project":"a","timestamp":"2026-12-01T10:00:02Z"}]"#
            #expect(try await client.send("/api/logs?source=\(source)", method: .post, headers: .apiKey(management), body: events).status == .ok)
            #expect(try await client.send("/api/logs?source=\(secret)", method: .post, headers: .apiKey(management), body: #"{"message":"hidden"}"#).status == .ok)
            let sql = #"with logs as (select event_message, "timestamp", body ->> 'project' as project from "app-logs" where body ->> 'project' = @project) select event_message from logs"#
            try await create(client, management, name: "logs.all", sql: sql, sandboxable: true)
            let endpoints = try await client.send("/api/endpoints", headers: .apiKey(management))
            let id = try #require((try jsonArray(endpoints.body)).first { $0["name"] as? String == "logs.all" }?["id"] as? String)
            let query = try await t.token([.queryEndpoint(try #require(UUID(uuidString: id)))], account: account).secret
            return Fixture(t: t, management: management, query: query)
        }

        static func create(_ client: some TestClientProtocol, _ token: String, name: String, sql: String, sandboxable: Bool) async throws {
            let body = String(decoding: try JSONSerialization.data(withJSONObject: ["name": name, "sql": sql, "sandboxable": sandboxable]), as: UTF8.self)
            let created = try await client.send("/api/endpoints", method: .post, headers: .apiKey(token), body: body)
            #expect(created.status == .created, "\(created.body)")
            #expect((try json(created.body))["sandboxable"] as? Bool == sandboxable)
        }

        /// GET with `sql` and `project` in the query string, as Supabase Studio sends it.
        func run(_ client: some TestClientProtocol, _ sql: String, endpoint: String = "logs.all", project: String? = "a") async throws
            -> (status: HTTPResponse.Status, body: String)
        {
            var items = [URLQueryItem(name: "sql", value: sql)]
            if let project { items.append(URLQueryItem(name: "project", value: project)) }
            var components = URLComponents()
            components.queryItems = items
            let query = components.percentEncodedQuery!.replacingOccurrences(of: "+", with: "%2B")
            let answer = try await client.send("/api/endpoints/query/\(endpoint)?\(query)", headers: .apiKey(management))
            return (answer.status, answer.body)
        }
    }

    static func messages(_ body: String) throws -> [String] {
        try #require((try json(body))["result"] as? [[String: Any]]).compactMap { $0["event_message"] as? String }
    }

    @Test func aCallersStatementReadsTheCTEsWithTheEndpointsParameters() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        try await t.application().test(.router) { client throws in
            let f = try await Fixture.make(client, t)
            // The endpoint as saved, then the caller's own statements over its CTE.
            let plain = try await client.send("/api/endpoints/query/logs.all?project=b", headers: .apiKey(f.query))
            #expect(try Self.messages(plain.body) == ["b1"])
            let ordered = try await f.run(client, #"select event_message from logs order by "timestamp" desc limit 1"#)
            #expect(ordered.status == .ok, "\(ordered.body)")
            #expect(try Self.messages(ordered.body) == ["a2"])
            let counted = try await f.run(client, "select count(*) as n, project from logs group by project;")
            #expect(counted.status == .ok, "\(counted.body)")
            #expect((try json(counted.body)["result"] as? [[String: Any]])?.first?["n"] as? Int == 2)
            // In a JSON body too, with a query token for the endpoint.
            let posted = try await client.send(
                "/api/endpoints/query/logs.all", method: .post, headers: .apiKey(f.query),
                body: #"{"sql": "select event_message from logs where event_message like @pattern", "project": "a", "pattern": "%2"}"#)
            #expect(posted.status == .ok, "\(posted.body)")
            #expect(try Self.messages(posted.body) == ["a2"])
            // The endpoint's parameters still bind: without one it is a 400 naming it.
            let missing = try await f.run(client, "select * from logs", project: nil)
            #expect(missing.status == .badRequest && missing.body.contains("project"), "\(missing.body)")
        }
    }

    @Test func aCallersStatementCannotReachPastTheCTEs() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        try await t.application().test(.router) { client throws in
            let f = try await Fixture.make(client, t)
            // Each of these reaches for the source view (or past the wrapper); PostgreSQL refuses
            // every one by itself: the view has another name and the caller's role no right to it.
            let refused: [(String, String)] = [
                (#"select event_message from "app-logs""#, "does not exist"),
                (#"select event_message from logs union all select event_message from "app-logs""#, "does not exist"),
                (#"select * from pg_temp."app-logs""#, "does not exist"),
                (#"select * from U&"app-logs""#, "does not exist"),
                (#"select * from U&"\0061pp-logs""#, "does not exist"),
                // Strings the scanner once read otherwise than PostgreSQL (E after a keyword, a
                // non-ASCII dollar-quote tag) hide nothing now: nothing is decided by scanning.
                (#"select case when false then '' else'\' end as x, l.* from logs, "app-logs" l --'"#, "does not exist"),
                (#"select $é$$é$ as s, l.* from logs, "app-logs" l"#, "does not exist"),
                (#"select table_to_xml('"app-logs"'::regclass, true, false, '')"#, "does not exist"),
                (#"select query_to_xml('select * from "app-logs"', true, false, '')"#, "permission denied"),
                (#"select * from pg_class c, lateral (select count(*) from logs) x where c.relname like 'kf_source_%' and false"#, ""),
                // Closing the wrapper's parentheses to skip its row cap: not a statement on its own.
                (#"SELECT 1) q) endpoint_rows) measured UNION ALL SELECT repeat('x', 200) FROM (SELECT 1 FROM (SELECT 1 FROM (SELECT 1"#, "syntax error"),
            ]
            for (sql, reason) in refused {
                let answer = try await f.run(client, sql)
                if reason.isEmpty {
                    // Allowed (it reads the CTE), and shows nothing of the hidden rows.
                    #expect(answer.status == .ok, "\(sql): \(answer.body)")
                } else {
                    #expect(answer.status == .badRequest, "\(sql): \(answer.body)")
                    #expect(answer.body.contains(reason), "\(sql): \(answer.body)")
                }
                #expect(!answer.body.contains("b1") && !answer.body.contains("hidden"), "\(sql)")
            }
            // The caller's conditions cannot run before the CTE's filter (security_barrier): a
            // failing cast meets only the CTE's own rows.
            let cast = try await f.run(client, "select * from logs where event_message::int is null")
            #expect(cast.status == .badRequest && !cast.body.contains("b1"), "\(cast.body)")
            // A source the endpoint's SQL does not name is never opened: PostgreSQL's own message.
            let other = try await f.run(client, "select event_message from secret")
            #expect(other.status == .badRequest && other.body.contains("does not exist"), "\(other.body)")
            #expect(!other.body.contains("hidden"))
        }
    }

    @Test func aCTENamedLikeItsSourceShadowsIt() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        try await t.application().test(.router) { client throws in
            let f = try await Fixture.make(client, t)
            let sql = #"with "app-logs" as (select * from "app-logs" where body ->> 'project' = @project) select event_message from "app-logs""#
            try await Fixture.create(client, f.management, name: "shadowed", sql: sql, sandboxable: true)
            let answer = try await f.run(client, #"select event_message from "app-logs" order by "timestamp""#, endpoint: "shadowed", project: "b")
            #expect(answer.status == .ok, "\(answer.body)")
            #expect(try Self.messages(answer.body) == ["b1"])
        }
    }

    /// `with c0 as (select 0 as n), …, c{count-1} as (…) select n from c0`.
    static func manyCTEs(_ count: Int) -> String {
        "with " + (0..<count).map { "c\($0) as (select \($0) as n)" }.joined(separator: ", ") + " select n from c0"
    }

    @Test func atMostThirtyTwoCTEsAreSavedAndRun() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        try await t.application().test(.router) { client throws in
            let f = try await Fixture.make(client, t)
            // 33 is refused with the limit named, and nothing is stored.
            let body = String(decoding: try JSONSerialization.data(withJSONObject: ["name": "wide", "sql": Self.manyCTEs(33), "sandboxable": true]), as: UTF8.self)
            let refused = try await client.send("/api/endpoints", method: .post, headers: .apiKey(f.management), body: body)
            #expect(refused.status == .unprocessableContent, "\(refused.body)")
            #expect(((try json(refused.body))["message"] as? String)?.contains("at most 32 CTEs") == true, "\(refused.body)")
            #expect(try await t.count("SELECT count(*) AS n FROM endpoints WHERE name = 'wide'") == 0)
            // 32 is accepted, and a caller's statement reads the last of them.
            try await Fixture.create(client, f.management, name: "wide", sql: Self.manyCTEs(32), sandboxable: true)
            let answer = try await f.run(client, "select n from c31", endpoint: "wide", project: nil)
            #expect(answer.status == .ok, "\(answer.body)")
            #expect((try json(answer.body)["result"] as? [[String: Any]])?.first?["n"] as? Int == 31)
            // Growing it past the limit later is refused the same way.
            let endpoints = try await client.send("/api/endpoints", headers: .apiKey(f.management))
            let id = try #require((try jsonArray(endpoints.body)).first { $0["name"] as? String == "wide" }?["id"] as? String)
            let patch = String(decoding: try JSONSerialization.data(withJSONObject: ["sql": Self.manyCTEs(33)]), as: UTF8.self)
            let patched = try await client.send("/api/endpoints/\(id)", method: .patch, headers: .apiKey(f.management), body: patch)
            #expect(patched.status == .unprocessableContent && patched.body.contains("at most 32 CTEs"), "\(patched.body)")
        }
    }

    @Test func anEndpointStoredWithTooManyCTEsIsRefusedRatherThanRun() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        try await t.application().test(.router) { client throws in
            let f = try await Fixture.make(client, t)
            // As if saved before the limit existed: straight into the table, past the catalog.
            let account: UUID = try await t.pool.query(
                "SELECT account_id FROM endpoints WHERE name = 'logs.all'").first!.decode("account_id")
            try await t.pool.query(
                """
                INSERT INTO endpoints (account_id, name, sql, enable_auth, sandboxable)
                VALUES (\(account), 'old.wide', \(Self.manyCTEs(40)), true, true)
                """)
            let answer = try await f.run(client, "select n from c0", endpoint: "old.wide", project: nil)
            #expect(answer.status == .unprocessableContent, "\(answer.body)")
            #expect(answer.body.contains("at most 32 CTEs"), "\(answer.body)")
        }
    }

    @Test func onlyWithQueriesAreSandboxableAndOthersTakeNoSQL() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        try await t.application().test(.router) { client throws in
            let f = try await Fixture.make(client, t)
            let body = #"{"name": "flat", "sql": "select event_message from \"app-logs\"", "sandboxable": true}"#
            let refused = try await client.send("/api/endpoints", method: .post, headers: .apiKey(f.management), body: body)
            #expect(refused.status == .unprocessableContent && refused.body.contains("WITH"), "\(refused.body)")
            try await Fixture.create(client, f.management, name: "flat", sql: #"select event_message from "app-logs""#, sandboxable: false)
            let answer = try await f.run(client, "select 1", endpoint: "flat", project: nil)
            #expect(answer.status == .badRequest && answer.body.contains("not sandboxable"), "\(answer.body)")
            // Turning it on later checks the SQL too.
            let endpoints = try await client.send("/api/endpoints", headers: .apiKey(f.management))
            let id = try #require((try jsonArray(endpoints.body)).first { $0["name"] as? String == "flat" }?["id"] as? String)
            let patched = try await client.send("/api/endpoints/\(id)", method: .patch, headers: .apiKey(f.management), body: #"{"sandboxable": true}"#)
            #expect(patched.status == .unprocessableContent, "\(patched.body)")
        }
    }
}
