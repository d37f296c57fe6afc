import CompressNIO
import Foundation
import HTTPTypes
import HummingbirdTesting
import KeyflareCore
import NIOCore
import Testing

@testable import KeyflareTestSupport

@Suite struct IngestTests {
    @Test func logflareJavaScriptClientRequestWorksUnchanged() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (a, _) = try await t.account()
        let source = try await t.source("browser", account: a)
        let token = try await t.token([.ingest], account: a)
        try await t.application().test(.router) { client throws in
            let body = #"{"batch":[{"message":"user clicked","metadata":{"page":"/home"},"timestamp":"2026-11-29T09:15:09.123Z"}]}"#
            let response = try await client.send(
                "/api/logs?api_key=\(token.secret)&source=\(source)", method: .post,
                headers: [.contentType: "application/json"], body: body
            )
            #expect(response.status == .ok)
            #expect(response.body == #"{"message":"Logged!"}"#)
        }
        let row = try #require(try await t.pool.query(
            "SELECT event_message, \"timestamp\", body->'metadata'->>'page' AS page, account_id FROM events WHERE source_id = \(source)"
        ).first)
        #expect(try row.decode("event_message", as: String.self) == "user clicked")
        let stored = try row.decode("timestamp", as: Date.self).timeIntervalSince1970
        #expect(abs(stored - RFC3339.parse("2026-11-29T09:15:09.123Z")!.timeIntervalSince1970) < 0.000_001)
        #expect(try row.decode("page", as: String.self) == "/home")
        #expect(try row.decode("account_id", as: UUID.self) == a)
    }

    @Test func threeBodyShapesAndThreeWaysToNameTheSource() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (a, _) = try await t.account()
        let source = try await t.source("app", account: a)
        let token = try await t.token([.ingest], account: a)
        try await t.application().test(.router) { client throws in
            #expect(try await client.send("/api/logs?source=\(source)", method: .post, headers: .apiKey(token.secret), body: #"{"batch":[{"a":1},{"a":2}]}"#).status == .ok)
            #expect(try await client.send("/logs?source_name=app", method: .post, headers: .apiKey(token.secret), body: #"[{"a":3},{"a":4}]"#).status == .ok)
            var headers: HTTPFields = .apiKey(token.secret)
            headers[HTTPField.Name("X-Source")!] = source.uuidString
            #expect(try await client.send("/api/events", method: .post, headers: headers, body: #"{"a":5}"#).status == .ok)
            let none = try await client.send("/api/logs", method: .post, headers: .apiKey(token.secret), body: #"{"a":6}"#)
            #expect(none.status == .badRequest)
            #expect(none.body.contains("source"))
            #expect(try await client.send("/api/logs?source_name=nope", method: .post, headers: .apiKey(token.secret), body: #"{"a":7}"#).status == .notFound)
            // A malformed id is the caller's mistake, named by where it was given.
            let badQuery = try await client.send("/api/logs?source=nope", method: .post, headers: .apiKey(token.secret), body: #"{"a":8}"#)
            #expect(badQuery.status == .badRequest)
            #expect(badQuery.body.contains("source must be a source id"))
            headers[HTTPField.Name("X-Source")!] = "nope"
            let badHeader = try await client.send("/api/events", method: .post, headers: headers, body: #"{"a":9}"#)
            #expect(badHeader.status == .badRequest)
            #expect(badHeader.body.contains("X-Source must be a source id"))
        }
        #expect(try await t.eventCount(source: source) == 5)
    }

    @Test func timestampsMessagesAndGzip() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (a, _) = try await t.account()
        let source = try await t.source("app", account: a)
        let token = try await t.token([.ingest], account: a)
        let events = #"""
            [{"i":0,"timestamp":1700000000,"event_message":"seconds"},
             {"i":1,"timestamp":1700000000123,"message":"millis"},
             {"i":2,"timestamp":1700000000123456},
             {"i":3,"timestamp":"2023-11-14T22:13:20Z"},
             {"i":4,"timestamp":"yesterday-ish"},
             {"i":5,"message":{"not":"a string"}}]
            """#
        var plain = ByteBuffer(string: events)
        let gzipped = try plain.compress(with: .gzip())
        try await t.application().test(.router) { client throws in
            var headers: HTTPFields = .apiKey(token.secret)
            headers[.contentEncoding] = "gzip"
            let response = try await client.execute(
                uri: "/api/logs?source=\(source)", method: .post, headers: headers, body: gzipped
            ) { $0.status }
            #expect(response == .ok)
            headers[.contentEncoding] = "br"
            let unsupported = try await client.execute(uri: "/api/logs?source=\(source)", method: .post, headers: headers, body: gzipped) { $0.status }
            #expect(unsupported == .unsupportedMediaType)
            headers[.contentEncoding] = "gzip"
            let corrupt = try await client.send("/api/logs?source=\(source)", method: .post, headers: headers, body: "not gzip at all")
            #expect(corrupt.status == .badRequest)
        }
        let rows = try await t.pool.query(
            """
            SELECT (body->>'i')::int AS i, extract(epoch FROM "timestamp")::float8 AS ts, event_message, ingested_at
            FROM events WHERE source_id = \(source) ORDER BY 1
            """
        ).rows
        #expect(rows.count == 6)
        let ts = try rows.map { try $0.decode("ts", as: Double.self) }
        #expect(ts[0] == 1_700_000_000)
        #expect(abs(ts[1] - 1_700_000_000.123) < 0.000_5)
        #expect(abs(ts[2] - 1_700_000_000.123456) < 0.000_002)
        #expect(ts[3] == 1_700_000_000)
        #expect(ts[4] > 1_700_000_000 + 365 * 86400, "an unusable timestamp becomes the receive time")
        #expect(try rows[0].decodeIfPresent("event_message", as: String.self) == "seconds")
        #expect(try rows[1].decodeIfPresent("event_message", as: String.self) == "millis")
        #expect(try rows[5].decodeIfPresent("event_message", as: String.self) == nil)
    }

    @Test func badBatchesAreRejectedWholeAndStoreNothing() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (a, _) = try await t.account()
        let source = try await t.source("app", account: a)
        let token = try await t.token([.ingest], account: a)
        let tooMany = "[" + Array(repeating: #"{"a":1}"#, count: 10_001).joined(separator: ",") + "]"
        let tooBig = #"[{"blob":""# + String(repeating: "x", count: 10 * 1024 * 1024) + #""}]"#
        try await t.application().test(.router) { client throws in
            for (body, status, needle) in [
                ("{not json", HTTPResponse.Status.badRequest, "JSON"),
                (#"[{"a":1},{"a":2},"three",{"a":4}]"#, .badRequest, "index 2"),
                (#"{"batch":[{"a":1},7]}"#, .badRequest, "index 1"),
                ("[]", .badRequest, "empty"),
                (#"{"batch":[]}"#, .badRequest, "empty"),
                (#"{"batch":{"a":1}}"#, .badRequest, "batch"),
                ("42", .badRequest, "object"),
                (tooMany, .contentTooLarge, "10000"),
                (tooBig, .contentTooLarge, "MiB"),
            ] {
                let response = try await client.send("/api/logs?source=\(source)", method: .post, headers: .apiKey(token.secret), body: body)
                #expect(response.status == status, "\(body.prefix(40)): \(response.body)")
                #expect(response.body.contains(needle), "\(body.prefix(40)): \(response.body)")
                #expect(try json(response.body)["error"] as? String == status.reasonPhrase)
            }
            // A gzip bomb: small on the wire, over the limit once inflated.
            var bomb = ByteBuffer(string: "[" + String(repeating: " ", count: 11 * 1024 * 1024) + "]")
            let compressed = try bomb.compress(with: .gzip())
            var headers: HTTPFields = .apiKey(token.secret)
            headers[.contentEncoding] = "gzip"
            let status = try await client.execute(uri: "/api/logs?source=\(source)", method: .post, headers: headers, body: compressed) { $0.status }
            #expect(status == .contentTooLarge)
        }
        #expect(try await t.eventCount(source: source) == 0)
    }

    @Test func corsPreflightAndHeadersOnIngestOnly() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (a, management) = try await t.account()
        let source = try await t.source("app", account: a)
        try await t.application().test(.router) { client throws in
            let preflight = try await client.send(
                "/api/logs", method: .options,
                headers: [.origin: "https://shop.example", .accessControlRequestMethod: "POST",
                          .accessControlRequestHeaders: "x-api-key, content-type"]
            )
            #expect(preflight.status == .noContent)
            #expect(preflight.headers[.accessControlAllowOrigin] == "*")
            let allowed = preflight.headers[.accessControlAllowHeaders]?.lowercased() ?? ""
            for header in ["authorization", "x-api-key", "content-type"] { #expect(allowed.contains(header)) }
            #expect(try await client.send("/api/endpoints/query/x", method: .options).status == .noContent)
            // The actual request's answer (an error here) carries the header too, so the page can read it.
            let denied = try await client.send("/api/logs?source=\(source)", method: .post, headers: [.origin: "https://shop.example"], body: "{}")
            #expect(denied.status == .unauthorized)
            #expect(denied.headers[.accessControlAllowOrigin] == "*")
            // The management API is not for browsers.
            let management = try await client.send("/api/sources", headers: .apiKey(management))
            #expect(management.headers[.accessControlAllowOrigin] == nil)
        }
    }

    @Test func concurrentIngestLosesNothing() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (a, _) = try await t.account()
        let source = try await t.source("busy", account: a)
        let token = try await t.token([.ingestSource(source)], account: a)
        let clients = 16
        let requestsPerClient = 10
        let eventsPerRequest = 25
        try await t.application().test(.live) { client throws in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for c in 0..<clients {
                    group.addTask {
                        var ok = 0
                        for r in 0..<requestsPerClient {
                            let batch = (0..<eventsPerRequest).map { #"{"client":\#(c),"request":\#(r),"n":\#($0)}"# }
                            let status = try await client.send(
                                "/api/logs?source=\(source)", method: .post, headers: .bearer(token.secret),
                                body: #"{"batch":[\#(batch.joined(separator: ","))]}"#
                            ).status
                            if status == .ok { ok += 1 }
                        }
                        return ok
                    }
                }
                let ok = try await group.reduce(0, +)
                #expect(ok == clients * requestsPerClient)
            }
        }
        #expect(try await t.eventCount(source: source) == clients * requestsPerClient * eventsPerRequest)
        let distinct = try await t.pool.query(
            "SELECT count(DISTINCT (body->>'client', body->>'request', body->>'n')) AS n FROM events WHERE source_id = \(source)"
        ).first!.decode("n", as: Int.self)
        #expect(distinct == clients * requestsPerClient * eventsPerRequest)
    }
}
