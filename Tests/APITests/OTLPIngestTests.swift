import CompressNIO
import Foundation
import HTTPTypes
import HummingbirdTesting
import KeyflareCore
import NIOCore
import Testing

@testable import KeyflareTestSupport

/// `POST /v1/logs` with what an OpenTelemetry SDK's OTLP/HTTP exporter sends: protobuf (gzipped,
/// as the collector's exporter does by default) and JSON, each read back through an endpoint.
@Suite struct OTLPIngestTests {
    typealias Fixture = LogflareClientTests.Fixture

    /// The protobuf wire format, for building requests.
    enum Proto {
        static func varint(_ value: UInt64) -> [UInt8] {
            var v = value
            var out: [UInt8] = []
            while v >= 0x80 {
                out.append(UInt8(v & 0x7F) | 0x80)
                v >>= 7
            }
            return out + [UInt8(v)]
        }
        static func field(_ number: UInt64, _ bytes: [UInt8]) -> [UInt8] { varint(number << 3 | 2) + varint(UInt64(bytes.count)) + bytes }
        static func string(_ number: UInt64, _ text: String) -> [UInt8] { field(number, Array(text.utf8)) }
        static func number(_ number: UInt64, _ value: UInt64) -> [UInt8] { varint(number << 3) + varint(value) }
        static func fixed64(_ number: UInt64, _ value: UInt64) -> [UInt8] {
            varint(number << 3 | 1) + withUnsafeBytes(of: value.littleEndian) { Array($0) }
        }
        static func keyValue(_ key: String, _ value: [UInt8]) -> [UInt8] { string(1, key) + field(2, value) }
        static func stringValue(_ text: String) -> [UInt8] { string(1, text) }
    }

    static func request(records: [[UInt8]]) -> [UInt8] {
        let resource = Proto.field(1, Proto.keyValue("service.name", Proto.stringValue("checkout")))
        let scope = Proto.string(1, "io.opentelemetry.example") + Proto.string(2, "1.2.0")
        let scopeLogs = Proto.field(1, scope) + records.flatMap { Proto.field(2, $0) }
        return Proto.field(1, Proto.field(1, resource) + Proto.field(2, scopeLogs))
    }

    static let traceID: [UInt8] = [0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c]

    @Test func protobufExport() async throws {
        let f = try await Fixture.make()
        defer { Task { await f.t.close() } }
        let token = try await f.t.token([.ingestSource(f.source)], account: f.account)
        try await f.t.application().test(.router) { client throws in
            let first = Proto.fixed64(1, 1_764_583_200_123_456_789) + Proto.number(2, 9) + Proto.string(3, "INFO")
                + Proto.field(5, Proto.stringValue("order placed"))
                + Proto.field(6, Proto.keyValue("order.id", Proto.number(3, 42)))
                + Proto.field(9, Self.traceID) + Proto.field(10, Array(Self.traceID.prefix(8)))
            // No time of its own: the observed time counts. A kvlist body: the message is its event_name.
            let kvlist = Proto.field(6, Proto.field(1, Proto.keyValue("k", Proto.stringValue("v"))))
            let second = Proto.fixed64(11, 1_764_583_201_000_000_000) + Proto.number(2, 17) + Proto.field(5, kvlist)
                + Proto.string(12, "checkout.failed")
            var plain = ByteBuffer(bytes: Self.request(records: [first, second]))
            var headers: HTTPFields = [.contentType: "application/x-protobuf", .contentEncoding: "gzip", .userAgent: "OTel-OTLP-Exporter-Go/1.28.0"]
            headers[HTTPField.Name("X-API-KEY")!] = token.secret
            headers[HTTPField.Name("X-Source")!] = f.source.uuidString
            let answer = try await client.execute(uri: "/v1/logs", method: .post, headers: headers, body: try plain.compress(with: .gzip())) {
                ($0.status, $0.headers[.contentType], Array(buffer: $0.body))
            }
            #expect(answer.0 == .ok)
            #expect(answer.1 == "application/x-protobuf")
            #expect(answer.2.isEmpty, "a full success has no partial_success: \(answer.2)")
            let rows = try await f.readBack(client)
            #expect(rows.map { $0["event_message"] as? String } == ["order placed", "checkout.failed"])
            #expect(rows.map { $0["timestamp"] as? String } == ["2025-12-01T10:00:00.123457+00:00", "2025-12-01T10:00:01+00:00"])
            let body = try #require(rows[0]["body"] as? [String: Any])
            #expect(body["trace_id"] as? String == "5b8efff798038103d269b633813fc60c")
            #expect(body["span_id"] as? String == "5b8efff798038103")
            #expect(body["severity_text"] as? String == "INFO" && body["severity_number"] as? Int == 9)
            #expect((body["attributes"] as? [String: Any])?["order.id"] as? Int == 42)
            #expect((body["resource"] as? [String: Any])?["service.name"] as? String == "checkout")
            #expect((body["scope"] as? [String: Any])?["name"] as? String == "io.opentelemetry.example")
            #expect((body["metadata"] as? [String: Any])?["type"] as? String == "otel_log")
            #expect(((rows[1]["body"] as? [String: Any])?["body"] as? [String: Any])?["k"] as? String == "v")
        }
    }

    @Test func jsonExportWithARejectedRecord() async throws {
        let f = try await Fixture.make()
        defer { Task { await f.t.close() } }
        try await f.t.application().test(.router) { client throws in
            let body = """
                {"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"web"}}]},
                "scopeLogs":[{"scope":{"name":"browser"},"logRecords":[
                {"timeUnixNano":"1764583200000000000","severityNumber":13,"severityText":"WARN","body":{"stringValue":"slow"},
                 "traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","attributes":[{"key":"ms","value":{"intValue":"950"}}]},
                {"timeUnixNano":"1764583201000000000","body":{"stringValue":"nul \\u0000 inside"}}]}]}]}
                """
            var headers: HTTPFields = [.contentType: "application/json"]
            headers[HTTPField.Name("X-API-KEY")!] = f.management
            let answer = try await client.send("/v1/logs?source_name=\(f.sourceName)", method: .post, headers: headers, body: body)
            #expect(answer.status == .ok, "\(answer.body)")
            let partial = try #require((try json(answer.body))["partialSuccess"] as? [String: Any])
            #expect("\(partial["rejectedLogRecords"] ?? "")" == "1")
            let rows = try await f.readBack(client)
            #expect(rows.map { $0["event_message"] as? String } == ["slow"])
            let stored = try #require(rows[0]["body"] as? [String: Any])
            #expect(stored["span_id"] as? String == "eee19b7ec3c1b174")
            #expect((stored["attributes"] as? [String: Any])?["ms"] as? Int == 950)
            // No source, another account's, a wrong type, broken protobuf: refused, nothing stored.
            #expect(try await client.send("/v1/logs", method: .post, headers: headers, body: body).status == .badRequest)
            var wrong = headers
            wrong[.contentType] = "text/plain"
            #expect(try await client.send("/v1/logs?source=\(f.source)", method: .post, headers: wrong, body: body).status == .unsupportedMediaType)
            let (other, _) = try await f.t.account()
            let theirs = try await f.t.source("theirs", account: other)
            #expect(try await client.send("/v1/logs?source=\(theirs)", method: .post, headers: headers, body: body).status == .notFound)
            var protobuf = headers
            protobuf[.contentType] = "application/x-protobuf"
            let broken = try await client.execute(
                uri: "/v1/logs?source=\(f.source)", method: .post, headers: protobuf, body: ByteBuffer(bytes: [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x01])
            ) { $0.status }
            #expect(broken == .badRequest)
            #expect(try await f.t.eventCount(source: f.source) == 1)
        }
    }
}
