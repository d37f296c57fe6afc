import CompressNIO
import Foundation
import HTTPTypes
import HummingbirdTesting
import KeyflareCore
import NIOCore
import PQ
import Testing

@testable import KeyflareTestSupport

/// Logflare's integration routes whose processors reshape what a service sends (Vercel, Netlify,
/// GitHub, typecasts, CloudEvents, Heroku logplex and syslog, the Elixir backend's BERT), each with
/// the request that service sends and read back through an endpoint.
@Suite struct LogflareIntegrationTests {
    typealias Fixture = LogflareClientTests.Fixture

    static func headers(_ token: String, _ type: String = "application/json") -> HTTPFields {
        var headers: HTTPFields = [.contentType: type]
        headers[HTTPField.Name("X-API-KEY")!] = token
        return headers
    }

    /// A Vercel log drain: a bare JSON array to `/logs/vercel?api_key=…&source=…`; the old `/zeit`
    /// name works too.
    @Test func vercelDrain() async throws {
        let f = try await Fixture.make()
        defer { Task { await f.t.close() } }
        let token = try await f.t.token([.ingestSource(f.source)], account: f.account)
        try await f.t.application().test(.router) { client throws in
            let body = """
                [{"id":"a","source":"lambda","message":"START RequestId: 1","timestamp":1764583200000,"projectId":"p",\
                "proxy":{"statusCode":200,"host":"app.vercel.app","path":"/api","clientIp":"192.0.2.1","userAgent":["curl/8","x"]}},\
                {"id":"b","source":"build","message":"Build completed","timestamp":1764583201000}]
                """
            let sent = try await LogflareClientTests.post(
                client, "/logs/vercel?api_key=\(token.secret)&source=\(f.source)", headers: [.contentType: "application/json"],
                body: ByteBuffer(string: body))
            #expect(sent.status == .ok, "\(sent.body)")
            let old = #"[{"source":"static","timestamp":1764583202000}]"#
            #expect(
                try await LogflareClientTests.post(
                    client, "/api/logs/zeit?source=\(f.source)", headers: Self.headers(token.secret), body: ByteBuffer(string: old)
                ).status == .ok)
            let rows = try await f.readBack(client)
            #expect(rows.map { $0["event_message"] as? String } == [
                "lambda | 200 | app.vercel.app | /api | 192.0.2.1 | curl/8,x", "build | Build completed", "static |  |  |  |  | ",
            ])
            #expect(rows.map { $0["timestamp"] as? String } == [
                "2025-12-01T10:00:00+00:00", "2025-12-01T10:00:01+00:00", "2025-12-01T10:00:02+00:00",
            ])
            let metadata = try #require((rows[0]["body"] as? [String: Any])?["metadata"] as? [String: Any])
            #expect((metadata["proxy"] as? [String: Any])?["userAgent"] as? String == "curl/8,x")
            #expect(metadata["projectId"] as? String == "p")
        }
    }

    /// A Netlify log drain: traffic and function logs, and the validation ping it sends first.
    @Test func netlifyDrain() async throws {
        let f = try await Fixture.make()
        defer { Task { await f.t.close() } }
        try await f.t.application().test(.router) { client throws in
            let body = """
                [{"log_type":"traffic","timestamp":"2026-12-01T10:00:00.250Z","method":"GET","status_code":200,"request_id":"01H","path":"/a"},\
                {"log_type":"functions","timestamp":"2026-12-01T10:00:01Z","method":"POST","status_code":500,"client_ip":"192.0.2.9",\
                "request_id":"01J","url":"https://x.netlify.app/f","user_agent":"ua"},\
                {"message":"validation"}]
                """
            let sent = try await LogflareClientTests.post(
                client, "/logs/netlify?source=\(f.source)", headers: Self.headers(f.management), body: ByteBuffer(string: body))
            #expect(sent.status == .ok, "\(sent.body)")
            let rows = try await f.readBack(client)
            let messages = Set(rows.compactMap { $0["event_message"] as? String })
            #expect(messages == ["traffic | GET | 200 | 01H | /a", "functions | POST | 500 | 192.0.2.9 | 01J | https://x.netlify.app/f | ua", "validation"])
            let traffic = try #require(rows.first { ($0["event_message"] as? String)?.hasPrefix("traffic") == true })
            #expect(traffic["timestamp"] as? String == "2026-12-01T10:00:00.25+00:00")
            let metadata = try #require((traffic["body"] as? [String: Any])?["metadata"] as? [String: Any])
            #expect(metadata["timestamp"] == nil && metadata["path"] as? String == "/a")
            let ping = try #require(rows.first { $0["event_message"] as? String == "validation" })
            #expect(((ping["body"] as? [String: Any])?["metadata"] as? [String: Any])?["log_type"] as? String == "validate")
        }
    }

    /// A GitHub webhook: one payload, stored without its `*_url` members at any depth.
    @Test func githubWebhook() async throws {
        let f = try await Fixture.make()
        defer { Task { await f.t.close() } }
        try await f.t.application().test(.router) { client throws in
            let body = """
                {"action":"opened","repository":{"full_name":"acme/app","html_url":"https://github.com/acme/app","owner":{"login":"acme","avatar_url":"a"}},\
                "sender":{"login":"octocat","url":"u"},"commits":[{"id":"c1","tree_url":"t"}]}
                """
            var headers = Self.headers(f.management)
            headers[HTTPField.Name("X-GitHub-Event")!] = "pull_request"
            let sent = try await LogflareClientTests.post(client, "/logs/github?source=\(f.source)", headers: headers, body: ByteBuffer(string: body))
            #expect(sent.status == .ok, "\(sent.body)")
            let rows = try await f.readBack(client)
            #expect(rows.map { $0["event_message"] as? String } == ["acme/app | octocat | opened"])
            let metadata = try #require((rows[0]["body"] as? [String: Any])?["metadata"] as? [String: Any])
            let repository = try #require(metadata["repository"] as? [String: Any])
            #expect(repository["html_url"] == nil && repository["full_name"] as? String == "acme/app")
            #expect((repository["owner"] as? [String: Any])?.keys.sorted() == ["login"])
            #expect((metadata["sender"] as? [String: Any])?["url"] as? String == "u")
            #expect((metadata["commits"] as? [[String: Any]])?.first?.keys.sorted() == ["id"])
            // Links are stripped down to 8 levels; deeper, the payload is kept as sent (bounded work
            // for any event inside a shared group commit).
            let deep = String(repeating: #"{"d":"#, count: 10) + #"{"deep_url":"kept"}"# + String(repeating: "}", count: 10)
            let sentDeep = try await LogflareClientTests.post(
                client, "/logs/github?source=\(f.source)", headers: headers, body: ByteBuffer(string: #"{"action":"x","nested":"# + deep + "}"))
            #expect(sentDeep.status == .ok, "\(sentDeep.body)")
            let kept: String? = try await f.t.pool.query(
                "SELECT body #>> '{metadata,nested,d,d,d,d,d,d,d,d,d,d,deep_url}' AS v FROM events WHERE source_id = \(f.source) AND event_message = ' |  | x'"
            ).first?.decodeIfPresent("v")
            #expect(kept == "kept")
        }
    }

    /// `/typecasts`: the body of each event is stored, the named strings turned into numbers; a
    /// cast that does not apply leaves its value as it is.
    @Test func typecasts() async throws {
        let f = try await Fixture.make()
        defer { Task { await f.t.close() } }
        try await f.t.application().test(.router) { client throws in
            let body = """
                {"batch":[{"body":{"message":"took","metadata":{"ms":"12.5","big":"1e999","word":"fast","n":"3"}},\
                "typecasts":[{"path":["metadata","ms"],"from":"string","to":"float"},{"path":["metadata","big"],"from":"string","to":"float"},\
                {"path":["metadata","word"],"from":"string","to":"float"},{"path":["metadata","missing","x"],"from":"string","to":"float"},\
                {"path":["metadata","n"],"from":"string","to":"integer"},{"path":["metadata","huge"],"from":"string","to":"float"}]}]}
                """.replacingOccurrences(of: #""n":"3"}"#, with: #""n":"3","huge":"1e308"}"#)
            let sent = try await LogflareClientTests.post(
                client, "/api/logs/typecasts?source=\(f.source)", headers: Self.headers(f.management), body: ByteBuffer(string: body))
            #expect(sent.status == .ok, "\(sent.body)")
            let rows = try await f.readBack(client)
            #expect(rows.map { $0["event_message"] as? String } == ["took"])
            let metadata = try #require((rows[0]["body"] as? [String: Any])?["metadata"] as? [String: Any])
            #expect(metadata["ms"] as? Double == 12.5)
            #expect(metadata["big"] as? String == "1e999")
            #expect(metadata["word"] as? String == "fast")
            #expect(metadata["n"] as? String == "3")
            #expect(metadata["huge"] as? String == "1e308", "a cast that would write out 309 digits is not made")
            // Only the first 32 directives apply.
            let casts = (0..<40).map { #"{"path":["m","k\#($0)"],"from":"string","to":"float"}"# }.joined(separator: ",")
            let keys = (0..<40).map { #""k\#($0)":"1""# }.joined(separator: ",")
            let many = #"{"batch":[{"body":{"message":"many","m":{"# + keys + #"}},"typecasts":["# + casts + "]}]}"
            #expect(try await LogflareClientTests.post(
                client, "/api/logs/typecasts?source=\(f.source)", headers: Self.headers(f.management), body: ByteBuffer(string: many)).status == .ok)
            let cast: Int = try await f.t.pool.query(
                "SELECT count(*)::int AS n FROM events, jsonb_each(body -> 'm') AS m WHERE source_id = \(f.source) AND jsonb_typeof(m.value) = 'number'"
            ).first!.decode("n")
            #expect(cast == 32)
        }
    }

    /// A CloudEvent in binary content mode: the `ce-*` headers travel with every event, `ce-time`
    /// sets its time.
    @Test func cloudEvent() async throws {
        let f = try await Fixture.make()
        defer { Task { await f.t.close() } }
        try await f.t.application().test(.router) { client throws in
            var headers = Self.headers(f.management)
            for (name, value) in [
                ("ce-id", "42"), ("ce-type", "com.example.order.placed"), ("ce-source", "/orders"), ("ce-specversion", "1.0"),
                ("ce-time", "2026-12-01T09:30:00Z"), ("ce-trace-parent", "00-abc"),
            ] { headers[HTTPField.Name(name)!] = value }
            let sent = try await LogflareClientTests.post(
                client, "/logs/cloud-event?source=\(f.source)", headers: headers,
                body: ByteBuffer(string: #"{"message":"order placed","order":42}"#))
            #expect(sent.status == .ok, "\(sent.body)")
            let rows = try await f.readBack(client)
            #expect(rows.map { $0["event_message"] as? String } == ["order placed"])
            #expect(rows.map { $0["timestamp"] as? String } == ["2026-12-01T09:30:00+00:00"])
            let body = try #require(rows[0]["body"] as? [String: Any])
            let event = try #require(body["cloud_event"] as? [String: String])
            #expect(event == [
                "id": "42", "type": "com.example.order.placed", "source": "/orders", "specversion": "1.0",
                "time": "2026-12-01T09:30:00Z", "trace_parent": "00-abc",
            ])
            #expect(body["timestamp"] as? String == "2026-12-01T09:30:00Z" && body["order"] as? Int == 42)
            // The headers are copied into every event: bounded, so they cannot multiply a body.
            var big = headers
            big[HTTPField.Name("ce-data")!] = String(repeating: "x", count: 9000)
            #expect(try await LogflareClientTests.post(
                client, "/logs/cloud-event?source=\(f.source)", headers: big, body: ByteBuffer(string: "{}")).status == .badRequest)
            var wide = headers
            wide[HTTPField.Name("ce-data")!] = String(repeating: "x", count: 8000)
            let events = "[" + Array(repeating: "{}", count: 2000).joined(separator: ",") + "]"
            #expect(try await LogflareClientTests.post(
                client, "/logs/cloud-event?source=\(f.source)", headers: wide, body: ByteBuffer(string: events)).status == .contentTooLarge)
            #expect(try await f.t.eventCount(source: f.source) == 1)
        }
    }

    /// A Heroku HTTPS log drain: `application/logplex-1`, octet-counted frames, the token in the
    /// drain URL's query string (Heroku cannot send headers).
    @Test func herokuLogplexDrain() async throws {
        let f = try await Fixture.make()
        defer { Task { await f.t.close() } }
        let token = try await f.t.token([.ingest], account: f.account)
        try await f.t.application().test(.router) { client throws in
            let frames = [
                "<158>1 2026-12-01T10:00:00.123456+00:00 host heroku router - at=info method=GET path=\"/\" host=app.herokuapp.com status=200 bytes=5",
                "<190>1 2026-12-01T10:00:01+00:00 host app web.1 - Started GET \"/\" for 192.0.2.1",
            ]
            let body = frames.map { "\($0.utf8.count) \($0)" }.joined(separator: "\n")
            var headers: HTTPFields = [.contentType: "application/logplex-1", .userAgent: "Logplex/v123"]
            headers[HTTPField.Name("Logplex-Msg-Count")!] = "2"
            let sent = try await LogflareClientTests.post(
                client, "/logs/logplex?api_key=\(token.secret)&source=\(f.source)", headers: headers, body: ByteBuffer(string: body))
            #expect(sent.status == .ok, "\(sent.body)")
            let rows = try await f.readBack(client)
            #expect(rows.map { $0["event_message"] as? String } == [
                "at=info method=GET path=\"/\" host=app.herokuapp.com status=200 bytes=5", "Started GET \"/\" for 192.0.2.1",
            ])
            #expect(rows.map { $0["timestamp"] as? String } == ["2026-12-01T10:00:00.123456+00:00", "2026-12-01T10:00:01+00:00"])
            let router = try #require((rows[0]["body"] as? [String: Any])?["metadata"] as? [String: Any])
            #expect(router["appname"] as? String == "heroku" && router["process_id"] as? String == "router")
            #expect(router["severity"] as? String == "info" && router["facility"] as? String == "local3")
            #expect((router["logfmt"] as? [String: Any])?["status"] as? String == "200")
            // Plain RFC 5424 lines (no length) on /syslogs; JSON still works on these routes.
            let line = "<14>1 2026-12-01T10:00:02Z host app 42 - [meta k=\"v\"] hello"
            #expect(
                try await LogflareClientTests.post(
                    client, "/api/logs/syslogs?source=\(f.source)", headers: Self.headers(token.secret, "application/logplex-1"),
                    body: ByteBuffer(string: line)
                ).status == .ok)
            #expect(
                try await client.send(
                    "/logs/syslog?source=\(f.source)", method: .post, headers: .apiKey(token.secret), body: #"{"message":"json"}"#
                ).status == .ok)
            // Nothing parseable: 400, and logplex bodies are refused on other routes.
            let garbage = try await LogflareClientTests.post(
                client, "/logs/logplex?source=\(f.source)", headers: Self.headers(token.secret, "application/logplex-1"),
                body: ByteBuffer(string: "not syslog at all"))
            #expect(garbage.status == .badRequest, "\(garbage.body)")
            let elsewhere = try await LogflareClientTests.post(
                client, "/api/logs?source=\(f.source)", headers: Self.headers(token.secret, "application/logplex-1"),
                body: ByteBuffer(string: body))
            #expect(elsewhere.status == .unsupportedMediaType)
            #expect(try await f.t.eventCount(source: f.source) == 4)
        }
    }

    /// The Elixir logger backend (`logflare_api_client`) and LogflareEx: BERT, gzipped, the
    /// source in the body, to `/logs/elixir/logger` and `/api/logs`.
    @Test func elixirBackendInBERT() async throws {
        let f = try await Fixture.make()
        defer { Task { await f.t.close() } }
        let token = try await f.t.token([.ingest], account: f.account)
        try await f.t.application().test(.router) { client throws in
            let event = BERT.map([
                (BERT.binary("message"), BERT.binary("request done")),
                (BERT.binary("timestamp"), BERT.integer(1_764_583_200_123_456)),
                (BERT.binary("metadata"), BERT.map([
                    (BERT.atom("level"), BERT.binary("info")), (BERT.atom("pid"), BERT.binary("#PID<0.1.0>")),
                    (BERT.atom("user_id"), BERT.nilTuple), (BERT.atom("big"), BERT.bignum(Array(repeating: 0xFF, count: 9))),
                    (BERT.atom("ratio"), BERT.float(0.25)), (BERT.atom("ok"), BERT.atom("true")),
                ])),
            ])
            let term = BERT.map([(BERT.binary("batch"), BERT.list([event])), (BERT.binary("source"), BERT.binary(f.source.uuidString.lowercased()))])
            var headers: HTTPFields = [.contentType: "application/bert", .contentEncoding: "gzip", .userAgent: "Logflare Elixir Logger"]
            headers[HTTPField.Name("X-API-KEY")!] = token.secret
            var plain = ByteBuffer(bytes: [131] + term)
            let sent = try await LogflareClientTests.post(client, "/logs/elixir/logger", headers: headers, body: try plain.compress(with: .gzip()))
            #expect(sent.status == .ok, "\(sent.body)")
            // LogflareEx: the same shape to /api/logs, with source_name.
            let named = BERT.map([(BERT.binary("batch"), BERT.list([BERT.map([(BERT.binary("message"), BERT.binary("from ex"))])])),
                                  (BERT.binary("source_name"), BERT.binary(f.sourceName))])
            var second = ByteBuffer(bytes: [131] + named)
            #expect(try await LogflareClientTests.post(client, "/api/logs", headers: headers, body: try second.compress(with: .gzip())).status == .ok)
            let rows = try await f.readBack(client)
            #expect(rows.map { $0["event_message"] as? String } == ["request done", "from ex"] || rows.map { $0["event_message"] as? String } == ["from ex", "request done"])
            let done = try #require(rows.first { $0["event_message"] as? String == "request done" })
            #expect(done["timestamp"] as? String == "2025-12-01T10:00:00.123456+00:00")
            let metadata = try #require((done["body"] as? [String: Any])?["metadata"] as? [String: Any])
            #expect(metadata["level"] as? String == "info" && metadata["user_id"] is NSNull && metadata["ok"] as? Bool == true)
            #expect(metadata["ratio"] as? Double == 0.25)
            // 2^72 - 1, beyond any fixed-width integer, stored exactly.
            let big: String = try await f.t.pool.query(
                "SELECT body #>> '{metadata,big}' AS big FROM events WHERE source_id = \(f.source) AND event_message = 'request done'"
            ).first!.decode("big")
            #expect(big == "4722366482869645213695")
            // Truncated or hostile BERT: 400, nothing stored.
            for bad: [UInt8] in [[131, 116, 0, 0, 0, 1], [131, 108, 0xFF, 0xFF, 0xFF, 0xFF, 106], [131, 109, 0x7F, 0xFF, 0xFF, 0xFF, 0x41], [130, 106]] {
                var buffer = ByteBuffer(bytes: bad)
                let refused = try await LogflareClientTests.post(client, "/api/logs?source=\(f.source)", headers: headers, body: try buffer.compress(with: .gzip()))
                #expect(refused.status == .badRequest, "\(bad): \(refused.body)")
            }
            #expect(try await f.t.eventCount(source: f.source) == 2)
        }
    }
}

/// Just enough of the Erlang external term format to write what Bertex writes, for the tests.
enum BERT {
    static func binary(_ text: String) -> [UInt8] { [109] + be32(text.utf8.count) + Array(text.utf8) }
    static func atom(_ name: String) -> [UInt8] { [119, UInt8(name.utf8.count)] + Array(name.utf8) }
    static func integer(_ value: Int) -> [UInt8] {
        if (0...255).contains(value) { return [97, UInt8(value)] }
        if let small = Int32(exactly: value) { return [98] + be32(Int(UInt32(bitPattern: small))) }
        var magnitude = value.magnitude
        var digits: [UInt8] = []
        while magnitude > 0 {
            digits.append(UInt8(magnitude & 0xFF))
            magnitude >>= 8
        }
        return [110, UInt8(digits.count), value < 0 ? 1 : 0] + digits
    }
    /// A positive bignum of little-endian digits.
    static func bignum(_ digits: [UInt8]) -> [UInt8] { [110, UInt8(digits.count), 0] + digits }
    static func float(_ value: Double) -> [UInt8] { [70] + withUnsafeBytes(of: value.bitPattern.bigEndian) { Array($0) } }
    static func list(_ items: [[UInt8]]) -> [UInt8] { [108] + be32(items.count) + items.flatMap { $0 } + [106] }
    static func map(_ pairs: [([UInt8], [UInt8])]) -> [UInt8] { [116] + be32(pairs.count) + pairs.flatMap { $0.0 + $0.1 } }
    /// `{bert, nil}`, Bertex's nil.
    static let nilTuple: [UInt8] = [104, 2] + atom("bert") + atom("nil")

    static func be32(_ value: Int) -> [UInt8] {
        [UInt8(value >> 24 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }
}
