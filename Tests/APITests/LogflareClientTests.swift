import CompressNIO
import Foundation
import HTTPTypes
import HummingbirdTesting
import KeyflareCore
import NIOCore
import Testing

@testable import KeyflareTestSupport

/// The requests Logflare's clients and integrations send, byte for byte where it matters (path,
/// headers, body encoding), each read back through a saved endpoint: its message and its time.
@Suite struct LogflareClientTests {
    /// One account with a source, and a way to read the source back through an endpoint.
    struct Fixture {
        let t: TestApp
        let account: UUID
        let management: String
        let source: UUID
        let sourceName = "app-logs"

        static func make() async throws -> Fixture {
            let t = try await TestApp.make()
            let (account, management) = try await t.account()
            let source = try await t.source("app-logs", account: account)
            return Fixture(t: t, account: account, management: management, source: source)
        }

        /// The source's events, oldest first: message, time (RFC 3339) and body.
        func readBack(_ client: some TestClientProtocol) async throws -> [[String: Any]] {
            let name = "read-\(UUID().uuidString.prefix(8).lowercased())"
            let sql = #"select event_message, "timestamp", body from "app-logs" order by "timestamp", id"#
            let body = try String(decoding: JSONSerialization.data(withJSONObject: ["name": name, "sql": sql]), as: UTF8.self)
            let created = try await client.send("/api/endpoints", method: .post, headers: .apiKey(management), body: body)
            #expect(created.status == .created, "\(created.body)")
            let result = try await client.send("/api/endpoints/query/\(name)", headers: .apiKey(management))
            #expect(result.status == .ok, "\(result.body)")
            return try #require(json(result.body)["result"] as? [[String: Any]])
        }
    }

    /// Sends raw bytes with the given headers.
    static func post(
        _ client: some TestClientProtocol, _ uri: String, headers: HTTPFields, body: ByteBuffer
    ) async throws -> (status: HTTPResponse.Status, body: String) {
        try await client.execute(uri: uri, method: .post, headers: headers, body: body) { ($0.status, String(buffer: $0.body)) }
    }

    static func gzip(_ text: String) throws -> ByteBuffer {
        var plain = ByteBuffer(string: text)
        return try plain.compress(with: .gzip())
    }

    /// The Cloudflare app worker: `/logs/cloudflare`, the source in the body, `log_entry` as message.
    @Test func cloudflareWorker() async throws {
        let f = try await Fixture.make()
        defer { Task { await f.t.close() } }
        let token = try await f.t.token([.ingestSource(f.source)], account: f.account)
        try await f.t.application().test(.router) { client throws in
            let body = #"{"source":"\#(f.source)","log_entry":"GET https://example.com/ | 200 | 1.2.3.4","metadata":{"request":{"method":"GET"},"response":{"status":200}}}"#
            var headers: HTTPFields = [.contentType: "application/json", .userAgent: "Cloudflare Worker"]
            headers[HTTPField.Name("X-API-KEY")!] = token.secret
            let sent = try await Self.post(client, "/logs/cloudflare", headers: headers, body: ByteBuffer(string: body))
            #expect(sent.status == .ok, "\(sent.body)")
            #expect(sent.body == #"{"message":"Logged!"}"#)
            // The newer worker batches, still with the source beside the batch.
            let batch = #"{"source":"\#(f.source)","batch":[{"log_entry":"second","metadata":{}}]}"#
            #expect(try await Self.post(client, "/logs/cloudflare", headers: headers, body: ByteBuffer(string: batch)).status == .ok)
            let rows = try await f.readBack(client)
            #expect(rows.map { $0["event_message"] as? String } == ["GET https://example.com/ | 200 | 1.2.3.4", "second"])
        }
    }

    /// Cloudflare Logpush: gzipped NDJSON sent as `text/plain; charset=utf-8`, one request per file.
    @Test func cloudflareLogpushNDJSON() async throws {
        let f = try await Fixture.make()
        defer { Task { await f.t.close() } }
        try await f.t.application().test(.router) { client throws in
            let lines = (1...3).map { #"{"ClientRequestHost":"example.com","EdgeResponseStatus":\#(200 + $0),"EdgeStartTimestamp":"2026-12-01T10:00:0\#($0)Z","timestamp":"2026-12-01T10:00:0\#($0)Z"}"# }
            var headers: HTTPFields = [.contentType: "text/plain; charset=utf-8", .contentEncoding: "gzip"]
            headers[.authorization] = "Bearer \(f.management)"
            let sent = try await Self.post(
                client, "/api/logs/cloudflare?source=\(f.source)", headers: headers, body: try Self.gzip(lines.joined(separator: "\n") + "\n"))
            #expect(sent.status == .ok, "\(sent.body)")
            let rows = try await f.readBack(client)
            #expect(rows.count == 3)
            #expect(rows.map { $0["timestamp"] as? String } == (1...3).map { "2026-12-01T10:00:0\($0)+00:00" })
            #expect((rows[2]["body"] as? [String: Any])?["EdgeResponseStatus"] as? Int == 203)
            // A line that is not one object refuses the whole file.
            let bad = try await Self.post(
                client, "/api/logs/cloudflare?source=\(f.source)", headers: headers, body: try Self.gzip("{\"a\":1}\n{\"a\":2},{\"a\":3}\n"))
            #expect(bad.status == .badRequest)
            #expect(bad.body.contains("NDJSON line 2"))
            #expect(try await f.t.eventCount(source: f.source) == 3)
        }
    }

    /// `application/x-ndjson` works on every route, the plain one included.
    @Test func ndjsonOnThePlainRoute() async throws {
        let f = try await Fixture.make()
        defer { Task { await f.t.close() } }
        try await f.t.application().test(.router) { client throws in
            var headers: HTTPFields = [.contentType: "application/x-ndjson"]
            headers[HTTPField.Name("X-API-KEY")!] = f.management
            let sent = try await Self.post(
                client, "/api/logs?source_name=app-logs", headers: headers, body: ByteBuffer(string: "{\"message\":\"one\"}\n{\"message\":\"two\"}\n"))
            #expect(sent.status == .ok, "\(sent.body)")
            // One receive time for both, so compared as a set.
            #expect(Set(try await f.readBack(client).compactMap { $0["event_message"] as? String }) == ["one", "two"])
        }
    }

    /// logflare-transport-core in a browser sends `log_entry`; in Node, `message`; both batch with
    /// the source in the query string.
    @Test func transportCoreBrowserAndNode() async throws {
        let f = try await Fixture.make()
        defer { Task { await f.t.close() } }
        let token = try await f.t.token([.ingest], account: f.account)
        try await f.t.application().test(.router) { client throws in
            var headers: HTTPFields = [.contentType: "application/json"]
            headers[HTTPField.Name("X-API-KEY")!] = token.secret
            let browser = #"{"batch":[{"log_entry":"clicked","metadata":{"url":"/"},"timestamp":1764583200000}]}"#
            #expect(try await Self.post(client, "/logs?source=\(f.source)", headers: headers, body: ByteBuffer(string: browser)).status == .ok)
            let node = #"{"batch":[{"message":"started","metadata":{"pid":1},"timestamp":"2026-12-01T10:00:01Z"}]}"#
            #expect(try await Self.post(client, "/logs?source=\(f.source)", headers: headers, body: ByteBuffer(string: node)).status == .ok)
            let rows = try await f.readBack(client)
            #expect(rows.map { $0["event_message"] as? String } == ["clicked", "started"])
            #expect(rows.map { $0["timestamp"] as? String } == ["2025-12-01T10:00:00+00:00", "2026-12-01T10:00:01+00:00"])
        }
    }

    /// `{"batch": [...], "source": "<id>"}` to `/api/logs`, and every other way to name the source,
    /// in Logflare's order of precedence; a body naming another account's source is a 404.
    @Test func theSourceInTheBodyAndItsPrecedence() async throws {
        let f = try await Fixture.make()
        defer { Task { await f.t.close() } }
        let other = try await f.t.source("other", account: f.account)
        let (stranger, _) = try await f.t.account("Stranger")
        let strangers = try await f.t.source("theirs", account: stranger)
        try await f.t.application().test(.router) { client throws in
            func send(_ uri: String, _ body: String, _ extra: HTTPFields = [:]) async throws -> HTTPResponse.Status {
                var headers = HTTPFields.apiKey(f.management)
                headers.append(contentsOf: extra)
                return try await client.send(uri, method: .post, headers: headers, body: body).status
            }
            #expect(try await send("/api/logs", #"{"batch":[{"message":"body id"}],"source":"\#(f.source)"}"#) == .ok)
            #expect(try await send("/api/logs", #"{"batch":[{"message":"body name"}],"collection_name":"app-logs"}"#) == .ok)
            // Names before ids, as Logflare orders them: source_name wins over source.
            #expect(try await send("/api/logs?source=\(other)&source_name=app-logs", #"{"message":"name first"}"#) == .ok)
            #expect(try await send("/api/logs?collection=\(f.source)", #"{"message":"collection"}"#) == .ok)
            #expect(try await send("/api/logs", #"{"message":"header"}"#, [HTTPField.Name("X-Collection")!: f.source.uuidString]) == .ok)
            // The URL and headers come before the body.
            #expect(try await send("/api/logs?source=\(f.source)", #"{"message":"query over body","source":"\#(other)"}"#) == .ok)
            // Another account's source, named in the body: as if it did not exist.
            #expect(try await send("/api/logs", #"{"batch":[{"message":"x"}],"source":"\#(strangers)"}"#) == .notFound)
            #expect(try await send("/api/logs", #"{"batch":[{"message":"x"}],"source":"build"}"#) == .badRequest)
            #expect(try await send("/api/logs", #"{"batch":[{"message":"x"}]}"#) == .badRequest)
            // A body name too long for any source is refused, and never matches a source by accident.
            let long = String(repeating: "n", count: 2_000)
            #expect(try await send("/api/logs", #"{"batch":[{"message":"x"}],"source_name":"\#(long)"}"#) == .badRequest)
            #expect(try await f.t.eventCount(source: f.source) == 6)
            #expect(try await f.t.eventCount(source: other) == 0)
            #expect(try await f.t.eventCount(source: strangers) == 0)
        }
    }

    /// A token restricted to one source cannot write to another by naming it in the body.
    @Test func aBodySourceIsScopeChecked() async throws {
        let f = try await Fixture.make()
        defer { Task { await f.t.close() } }
        let other = try await f.t.source("other", account: f.account)
        let token = try await f.t.token([.ingestSource(f.source)], account: f.account)
        try await f.t.application().test(.router) { client throws in
            let status = try await client.send(
                "/api/logs", method: .post, headers: .apiKey(token.secret), body: #"{"batch":[{"message":"x"}],"source":"\#(other)"}"#
            ).status
            #expect(status == .forbidden)
            #expect(try await f.t.eventCount(source: other) == 0)
        }
    }

    /// A token that may ingest nowhere is refused before its body is read, even when only the body
    /// would name the source.
    @Test func aQueryOnlyTokenIsRefusedBeforeItsBodyIsRead() async throws {
        let f = try await Fixture.make()
        defer { Task { await f.t.close() } }
        let token = try await f.t.token([.query], account: f.account)
        try await f.t.application().test(.router) { client throws in
            let answer = try await client.send(
                "/api/logs", method: .post, headers: .apiKey(token.secret), body: #"{"batch":[{"message":"x"}],"source":"\#(f.source)"}"#)
            #expect(answer.status == .forbidden)
            #expect(try await f.t.eventCount(source: f.source) == 0)
        }
    }

    /// Vector's http sink as the Fly log shipper configures it, and as Supabase's Vector config
    /// sends it (`/api/logs?source_name=…`, a lower-case `x-api-key`).
    @Test func vectorAndSupabaseVector() async throws {
        let f = try await Fixture.make()
        defer { Task { await f.t.close() } }
        let gotrue = try await f.t.source("gotrue.logs.prod", account: f.account)
        try await f.t.application().test(.router) { client throws in
            var headers: HTTPFields = [.contentType: "application/json"]
            headers[.authorization] = "Bearer \(f.management)"
            let fly = #"[{"message":"GET / 200","timestamp":"2026-12-01T10:00:00.123Z","fly":{"app":{"name":"web"}},"host":"a1"},{"timestamp":"2026-12-01T10:00:01Z","level":"info"}]"#
            let sent = try await Self.post(client, "/logs/vector?source=\(f.source)", headers: headers, body: ByteBuffer(string: fly))
            #expect(sent.status == .ok, "\(sent.body)")
            let rows = try await f.readBack(client)
            #expect(rows.map { $0["event_message"] as? String } == ["GET / 200", #"{"level": "info"}"#])
            #expect(rows.map { $0["timestamp"] as? String } == ["2026-12-01T10:00:00.123+00:00", "2026-12-01T10:00:01+00:00"])
            let first = try #require(rows[0]["body"] as? [String: Any])
            #expect(first["message"] as? String == "GET / 200")
            #expect(((first["metadata"] as? [String: Any])?["fly"] as? [String: Any]) != nil)
            #expect((first["metadata"] as? [String: Any])?["message"] == nil)

            var supabase: HTTPFields = [.contentType: "application/json"]
            supabase[HTTPField.Name("x-api-key")!] = f.management
            let event = #"[{"event_message":"{\"level\":\"info\",\"msg\":\"login\"}","timestamp":1764583200000000,"project":"default"}]"#
            let answer = try await Self.post(client, "/api/logs?source_name=gotrue.logs.prod", headers: supabase, body: ByteBuffer(string: event))
            #expect(answer.status == .ok, "\(answer.body)")
            #expect(try await f.t.eventCount(source: gotrue) == 1)
        }
    }

    /// `/json` and `/browser/reports` store the event as message text plus metadata, at receive time.
    @Test func genericJSONAndBrowserReports() async throws {
        let f = try await Fixture.make()
        defer { Task { await f.t.close() } }
        try await f.t.application().test(.router) { client throws in
            let before = Date()
            for path in ["/api/logs/json", "/api/events/browser/reports"] {
                let status = try await client.send(
                    "\(path)?source=\(f.source)", method: .post, headers: .apiKey(f.management),
                    body: #"{"type":"csp-violation","timestamp":"2000-01-01T00:00:00Z"}"#
                ).status
                #expect(status == .ok, "\(path)")
            }
            let rows = try await f.readBack(client)
            #expect(rows.count == 2)
            for row in rows {
                let body = try #require(row["body"] as? [String: Any])
                #expect((body["metadata"] as? [String: Any])?["type"] as? String == "csp-violation")
                let message = try #require(row["event_message"] as? String)
                #expect(try json(message)["type"] as? String == "csp-violation")
                let time = try #require((row["timestamp"] as? String).flatMap(RFC3339.parse))
                #expect(time > before.addingTimeInterval(-5))
            }
            // Pages may call them: CORS on the answer and on the preflight.
            let preflight = try await client.send("/api/logs/browser/reports", method: .options)
            #expect(preflight.status == .noContent)
            #expect(preflight.headers[.accessControlAllowOrigin] == "*")
        }
    }

    /// The Elixir logger backend's routes also take JSON (their BERT is in LogflareIntegrationTests).
    @Test func elixirRoutesTakeJSON() async throws {
        let f = try await Fixture.make()
        defer { Task { await f.t.close() } }
        try await f.t.application().test(.router) { client throws in
            for path in ["/logs/elixir/logger", "/api/logs/erlang", "/api/events/erlang/logger", "/logs/erlang/lager"] {
                let status = try await client.send(
                    "\(path)?source=\(f.source)", method: .post, headers: .apiKey(f.management), body: #"{"batch":[{"message":"\#(path)"}]}"#
                ).status
                #expect(status == .ok, "\(path)")
            }
            #expect(try await f.t.eventCount(source: f.source) == 4)
        }
    }
}
