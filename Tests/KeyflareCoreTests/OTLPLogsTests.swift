import Foundation
import Testing

@testable import KeyflareCore

/// OTLP/HTTP log exports, protobuf and JSON, as events for the ingest pipeline: Logflare's mapping,
/// every value kind, partial success, and bodies written to hurt.
@Suite struct OTLPLogsTests {
    let now = Date(timeIntervalSince1970: 2_000_000_000)
    static let t: UInt64 = 1_700_000_000_000_000_000
    static let traceID = "5b8efff798038103d269b633813fc60c"
    static let spanID = "eee19b7ec3c1b174"

    // MARK: - Helpers

    func protobuf(_ body: [UInt8]) throws -> OTLPLogs.Decoded {
        try body.withUnsafeBytes { try OTLPLogs.decodeProtobuf($0) }
    }

    func json(_ body: String) throws -> OTLPLogs.Decoded {
        try Array(body.utf8).withUnsafeBytes { try OTLPLogs.decodeJSON($0) }
    }

    /// The events as Foundation objects (the tests may build trees; the decoders may not).
    func events(_ decoded: OTLPLogs.Decoded) throws -> [[String: Any]] {
        try #require(JSONSerialization.jsonObject(with: Data(decoded.json)) as? [[String: Any]])
    }

    /// The events' JSON with sorted keys, to compare two decodings.
    func canonical(_ decoded: OTLPLogs.Decoded) throws -> String {
        let object = try JSONSerialization.jsonObject(with: Data(decoded.json))
        return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    func batch(_ decoded: OTLPLogs.Decoded) throws -> IngestBatch {
        try decoded.json.withUnsafeBytes { try IngestBatch.parse($0, receivedAt: now) }
    }

    /// The realistic export: two resources, three scopes' worth of records, every AnyValue kind.
    static let export: [UInt8] = PB.request([
        PB.resourceLogs(
            resource: [
                PB.kv("service.name", PB.string("checkout")), PB.kv("host.name", PB.string("web-1")),
                PB.kv("process.pid", PB.int(4242)),
            ],
            scopes: [
                PB.scopeLogs(
                    name: "io.opentelemetry.logback", version: "2.1.0", attributes: [PB.kv("scope.attr", PB.bool(true))],
                    records: [
                        PB.record(
                            time: t, observed: t + 5, severity: 9, severityText: "INFO", body: PB.string("order placed"),
                            attributes: [
                                PB.kv("s", PB.string("text")), PB.kv("b", PB.bool(false)), PB.kv("i", PB.int(-7)),
                                PB.kv("d", PB.double(12.5)), PB.kv("nan", PB.double(.nan)),
                                PB.kv("a", PB.array([PB.string("x"), PB.int(1)])),
                                PB.kv("kv", PB.kvlist([PB.kv("inner", PB.bool(true))])), PB.kv("bytes", PB.bytes([0, 0xFF, 0x41])),
                                PB.kv("unset", []),
                            ],
                            traceID: PB.hex(traceID), spanID: PB.hex(spanID)),
                        PB.record(
                            observed: t + 1000, severity: 17, severityText: "ERROR",
                            body: PB.kvlist([PB.kv("error", PB.string("timeout")), PB.kv("retries", PB.int(3))]),
                            eventName: "payment.failed"),
                    ]),
                PB.scopeLogs(name: "second", version: "", records: [PB.record(time: t + 2000, body: PB.string("from the second scope"))]),
            ]),
        PB.resourceLogs(
            resource: [PB.kv("service.name", PB.string("worker"))],
            scopes: [PB.scopeLogs(name: "worker", version: "", records: [PB.record(body: PB.array([PB.int(1), PB.string("a")]), eventName: "tick")])]),
    ])

    /// The same export in OTLP JSON.
    static let exportJSON = """
        {"resourceLogs":[
          {"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}},
                                     {"key":"host.name","value":{"stringValue":"web-1"}},
                                     {"key":"process.pid","value":{"intValue":"4242"}}],"droppedAttributesCount":0},
           "scopeLogs":[
             {"scope":{"name":"io.opentelemetry.logback","version":"2.1.0","attributes":[{"key":"scope.attr","value":{"boolValue":true}}]},
              "logRecords":[
                {"timeUnixNano":"1700000000000000000","observedTimeUnixNano":"1700000000000000005","severityNumber":9,
                 "severityText":"INFO","body":{"stringValue":"order placed"},
                 "attributes":[{"key":"s","value":{"stringValue":"text"}},{"key":"b","value":{"boolValue":false}},
                               {"key":"i","value":{"intValue":-7}},{"key":"d","value":{"doubleValue":12.5}},
                               {"key":"nan","value":{"doubleValue":"NaN"}},
                               {"key":"a","value":{"arrayValue":{"values":[{"stringValue":"x"},{"intValue":"1"}]}}},
                               {"key":"kv","value":{"kvlistValue":{"values":[{"key":"inner","value":{"boolValue":true}}]}}},
                               {"key":"bytes","value":{"bytesValue":"AP9B"}},{"key":"unset","value":{}}],
                 "traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","flags":1},
                {"observedTimeUnixNano":1700000000000001000,"severityNumber":"SEVERITY_NUMBER_ERROR","severityText":"ERROR",
                 "body":{"kvlistValue":{"values":[{"key":"error","value":{"stringValue":"timeout"}},{"key":"retries","value":{"intValue":3}}]}},
                 "eventName":"payment.failed"}],
              "schemaUrl":"https://opentelemetry.io/schemas/1.24.0"},
             {"scope":{"name":"second","version":""},"logRecords":[{"timeUnixNano":"1700000000000002000","body":{"stringValue":"from the second scope"}}]}]},
          {"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"worker"}}]},
           "scopeLogs":[{"scope":{"name":"worker"},"logRecords":[{"body":{"arrayValue":{"values":[{"intValue":"1"},{"stringValue":"a"}]}},"eventName":"tick"}]}]}]}
        """

    // MARK: - Mapping

    @Test func aCollectorExportBecomesOneEventPerRecord() throws {
        let decoded = try protobuf(Self.export)
        #expect(decoded.events == 4 && decoded.rejected == 0 && decoded.rejectionMessage == nil)
        let batch = try batch(decoded)
        #expect(batch.count == 4)
        // Nanoseconds, the observed time when the record's own is 0, the receive time when both are.
        #expect(batch.timestamps[0] == Date(timeIntervalSince1970: 1_700_000_000))
        #expect(abs(batch.timestamps[1].timeIntervalSince1970 - 1_700_000_000.000001) < 1e-6)
        #expect(batch.timestamps[3] == now)

        let events = try events(decoded)
        let first = events[0]
        #expect(first["event_message"] as? String == "order placed")
        #expect(first["body"] as? String == "order placed")
        #expect((first["timestamp"] as? NSNumber)?.uint64Value == Self.t)
        #expect(first["severity_number"] as? Int == 9 && first["severity_text"] as? String == "INFO")
        #expect(first["trace_id"] as? String == Self.traceID && first["span_id"] as? String == Self.spanID)
        #expect((first["metadata"] as? [String: String]) == ["type": "otel_log"])
        let attributes = try #require(first["attributes"] as? [String: Any])
        #expect(attributes["s"] as? String == "text")
        #expect(attributes["b"] as? Bool == false)
        #expect(attributes["i"] as? Int == -7)
        #expect(attributes["d"] as? Double == 12.5)
        #expect(attributes["nan"] is NSNull && attributes["unset"] is NSNull)
        #expect((attributes["a"] as? [Any])?.count == 2)
        #expect((attributes["kv"] as? [String: Bool]) == ["inner": true])
        #expect(attributes["bytes"] as? String == "AP9B")
        let scope = try #require(first["scope"] as? [String: Any])
        #expect(scope["name"] as? String == "io.opentelemetry.logback" && scope["version"] as? String == "2.1.0")
        #expect((scope["attributes"] as? [String: Bool]) == ["scope.attr": true])
        let resource = try #require(first["resource"] as? [String: Any])
        #expect(resource["service.name"] as? String == "checkout" && resource["process.pid"] as? Int == 4242)

        // A body that is not a string: the message is the event name, the body is the value.
        #expect(events[1]["event_message"] as? String == "payment.failed")
        #expect((events[1]["body"] as? [String: Any])?["retries"] as? Int == 3)
        #expect(events[1]["trace_id"] as? String == "")
        #expect((events[2]["scope"] as? [String: Any])?["name"] as? String == "second")
        #expect((events[3]["resource"] as? [String: String]) == ["service.name": "worker"])
        #expect(events[3]["event_message"] as? String == "tick")
        #expect(events[3]["timestamp"] == nil)
    }

    @Test func otlpJSONDecodesToTheSameEvents() throws {
        let expected = try canonical(try protobuf(Self.export))
        let camel = try json(Self.exportJSON)
        #expect(camel.events == 4 && camel.rejected == 0)
        #expect(try canonical(camel) == expected)
        #expect(try batch(camel).timestamps == (try batch(try protobuf(Self.export))).timestamps)

        // The proto field names work too, and hex ids in upper case.
        var snake = Self.exportJSON.replacingOccurrences(of: Self.traceID, with: Self.traceID.uppercased())
        for (camelName, snakeName) in [
            ("resourceLogs", "resource_logs"), ("scopeLogs", "scope_logs"), ("logRecords", "log_records"),
            ("observedTimeUnixNano", "observed_time_unix_nano"), ("timeUnixNano", "time_unix_nano"),
            ("severityNumber", "severity_number"), ("severityText", "severity_text"), ("traceId", "trace_id"),
            ("spanId", "span_id"), ("eventName", "event_name"), ("stringValue", "string_value"), ("boolValue", "bool_value"),
            ("intValue", "int_value"), ("doubleValue", "double_value"), ("arrayValue", "array_value"),
            ("kvlistValue", "kvlist_value"), ("bytesValue", "bytes_value"),
        ] {
            snake = snake.replacingOccurrences(of: "\"\(camelName)\"", with: "\"\(snakeName)\"")
        }
        #expect(try canonical(try json(snake)) == expected)
    }

    @Test func jsonFieldsInAnyOrderWithDefaultsAndProtobufJSONNumbers() throws {
        let body = """
            {"resourceLogs":[{"scopeLogs":[{"logRecords":[
              {"attributes":[{"value":{"intValue":"1e3"},"key":"late"},{"key":"url","value":{"bytesValue":"-_8"}}],
               "timeUnixNano":1.7e18,"severityNumber":null,"body":null,"traceId":null,"unknown":{"deep":[1,2,{"x":"\\u0000"}]}},
              {"body":{"doubleValue":"-Infinity"},"time_unix_nano":"86400000000001"}],
              "scope":{"version":"9"}}],
             "resource":{"attributes":[{"key":"service.name","value":{"stringValue":"last"}}]}}]}
            """
        let decoded = try json(body)
        let events = try events(decoded)
        #expect(events.count == 2)
        #expect((events[0]["attributes"] as? [String: Any])?["late"] as? Int == 1000)
        #expect((events[0]["attributes"] as? [String: Any])?["url"] as? String == "+/8=")
        #expect(events[0]["severity_number"] as? Int == 0 && events[0]["body"] is NSNull && events[0]["trace_id"] as? String == "")
        #expect(decoded.rejected == 0)
        let scope = try #require(events[0]["scope"] as? [String: Any])
        #expect(scope["name"] as? String == "" && scope["version"] as? String == "9" && (scope["attributes"] as? [String: Any])?.isEmpty == true)
        #expect((events[1]["resource"] as? [String: String]) == ["service.name": "last"])
        #expect(events[1]["body"] is NSNull)
        // A time before 1973 in nanoseconds would read as microseconds: it is written in seconds.
        #expect((events[1]["timestamp"] as? NSNumber)?.doubleValue == 86_400.000_000_001)
        let times = try batch(decoded).timestamps
        #expect(times[0] == Date(timeIntervalSince1970: 1_700_000_000))
        #expect(abs(times[1].timeIntervalSince1970 - 86_400) < 1e-6)
    }

    @Test func jsonThatIsNotAnExportIsA400() {
        for body in [
            "", "[]", "{", #"{"resourceLogs":{}}"#, #"{"resourceLogs":[1]}"#,
            #"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"a"},"body":{"stringValue":"b"}}]}]}]}"#,
            #"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"a","intValue":1}}]}]}]}"#,
            #"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"xyz"}]}]}]}"#,
            #"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"spanId":"abc"}]}]}]}"#,
            #"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"-1"}]}]}]}"#,
            #"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"18446744073709551616"}]}]}]}"#,
            #"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"intValue":"9223372036854775808"}}]}]}]}"#,
            #"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"intValue":1.5}}]}]}]}"#,
            #"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"severityNumber":"LOUD"}]}]}]}"#,
            #"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"bytesValue":"A"}}]}]}]}"#,
            #"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"severityText":5}]}]}]}"#,
            "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"severityText\":\"\u{1}\"}]}]}]}",
            #"{"resourceLogs":[]} x"#,
        ] {
            #expect(throws: KeyflareError.self, "\(body)") { try json(body) }
            do { _ = try json(body) } catch let error as KeyflareError {
                if case .badRequest = error {} else { Issue.record("\(body): \(error)") }
            } catch { Issue.record("\(error)") }
        }
        #expect(throws: KeyflareError.badRequest("the body is not valid UTF-8")) {
            try (Array(#"{"x":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)).withUnsafeBytes { try OTLPLogs.decodeJSON($0) }
        }
    }

    // MARK: - Protobuf wire format

    @Test func unknownFieldsOfEveryWireTypeAreSkipped() throws {
        let unknown = PB.varintField(99, 7) + PB.fixed64Field(98, 1) + PB.field(97, Array("skip".utf8)) + PB.fixed32Field(96, 2)
        // A known field number with another wire type is unknown too, as protobuf's parsers treat it.
        let mistyped = PB.varintField(3, 1) + PB.varintField(9, 1) + PB.fixed32Field(5, 0)
        let plain = PB.request([
            PB.resourceLogs(
                resource: [PB.kv("service.name", PB.string("s"))],
                scopes: [PB.scopeLogs(name: "n", version: "v", records: [PB.record(time: Self.t, body: PB.string("x"))])]),
        ])
        let noisy =
            unknown
            + PB.field(
                1,
                unknown + PB.field(1, unknown + PB.field(1, PB.field(1, Array("service.name".utf8)) + PB.field(2, unknown + PB.string("s")) + unknown))
                    + PB.field(
                        2,
                        PB.field(1, unknown + PB.field(1, Array("n".utf8)) + PB.field(2, Array("v".utf8)))
                            + PB.field(2, unknown + mistyped + PB.record(time: Self.t, body: PB.string("x")) + unknown) + unknown))
        #expect(try canonical(try protobuf(noisy)) == (try canonical(try protobuf(plain))))
    }

    @Test func aBrokenMessageIsA400() {
        let malformed: [[UInt8]] = [
            [0x0A] + PB.varint(1 << 63) + [0, 0, 0, 0],  // a length of 2^63
            [0x0A] + PB.varint(UInt64.max),
            [0x0A, 0x05, 0x12, 0x03],  // a length past the end of its message
            [0x0A, 0x02, 0x13, 0x14],  // a group: wire types 3 and 4
            [0x0A, 0x01, 0x14],
            [0x0B, 0x0C],
            [0x0E, 0x00],  // wire type 6
            [0x0F, 0x00],  // wire type 7
            [0x00, 0x00],  // field number 0
            [0x08] + Array(repeating: 0xFF, count: 10) + [0x01],  // a varint past 64 bits
            [0x08, 0x80],  // truncated varint
            [0x09, 0x00, 0x00],  // truncated fixed64
        ]
        for body in malformed {
            #expect(throws: KeyflareError.self, "\(body)") { try protobuf(body) }
            do { _ = try protobuf(body) } catch KeyflareError.badRequest {} catch { Issue.record("\(body): \(error)") }
        }
    }

    @Test func everyPrefixOfAnExportDecodesOrIsRefused() throws {
        for end in 0..<Self.export.count {
            do {
                let decoded = try protobuf(Array(Self.export[..<end]))
                if decoded.events > 0 { #expect(try batch(decoded).count == decoded.events) }
            } catch is KeyflareError {}
        }
        let text = Array(Self.exportJSON.utf8)
        for end in 0..<text.count {
            do {
                let decoded = try text[..<end].withUnsafeBytes { try OTLPLogs.decodeJSON($0) }
                if decoded.events > 0 { #expect(try batch(decoded).count == decoded.events) }
            } catch is KeyflareError {}
        }
    }

    // MARK: - Limits

    /// Nested values are bounded by the events' own depth (128, as `IngestBatch` checks): the body
    /// sits at depth 3 (array, event, body), so 126 levels of arrays fit and 127 do not.
    @Test func nestingIsBoundedByTheEventDepth() throws {
        func nested(_ levels: Int) -> [UInt8] {
            var value = PB.string("bottom")
            for _ in 0..<levels { value = PB.array([value]) }
            return PB.request([PB.resourceLogs(resource: [], scopes: [PB.scopeLogs(name: "", version: "", records: [PB.record(body: value)])])])
        }
        #expect(try batch(try protobuf(nested(126))).count == 1)
        #expect(throws: KeyflareError.badRequest(
            "a value in the log records is nested too deep: an event may nest at most 128 levels")) { try protobuf(nested(127)) }
        #expect(throws: KeyflareError.self) { try protobuf(nested(129)) }
        #expect(throws: KeyflareError.self) { try protobuf(nested(5_000)) }

        let deepJSON = #"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":"# + String(repeating: #"{"arrayValue":{"values":["#, count: 60)
            + #"{"intValue":1}"# + String(repeating: "]}}", count: 60) + "}]}]}]}"
        #expect(throws: KeyflareError.badRequest("the body is nested deeper than 128 levels")) { try json(deepJSON) }
        let deepUnknown = #"{"x":"# + String(repeating: "[", count: 128) + String(repeating: "]", count: 128) + "}"
        #expect(throws: KeyflareError.badRequest("the body is nested deeper than 128 levels")) { try json(deepUnknown) }
        #expect(try json(#"{"x":"# + String(repeating: "[", count: 127) + String(repeating: "]", count: 127) + "}").events == 0)
    }

    @Test func moreThanTenThousandRecordsIsA413() throws {
        func records(_ count: Int) -> [UInt8] {
            PB.request([PB.field(2, Array(repeating: PB.field(2, []), count: count).flatMap { $0 })])
        }
        #expect(try batch(try protobuf(records(IngestBatch.maxEvents))).count == IngestBatch.maxEvents)
        #expect(throws: KeyflareError.payloadTooLarge("more than 10000 log records in one request; the limit is 10000")) {
            try protobuf(records(IngestBatch.maxEvents + 1))
        }
        // 10 MiB of `{}` records: refused at the 10,001st, without a tree of 3.5 million objects.
        var body = Array(#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{}"#.utf8)
        body.reserveCapacity(IngestBatch.maxBodyBytes)
        while body.count < IngestBatch.maxBodyBytes - 16 { body += Array(",{}".utf8) }
        body += Array("]}]}]}".utf8)
        let started = ContinuousClock.now
        #expect(throws: KeyflareError.payloadTooLarge("more than 10000 log records in one request; the limit is 10000")) {
            try body.withUnsafeBytes { try OTLPLogs.decodeJSON($0) }
        }
        // The same bytes where no record is: skipped, not stored.
        var skipped = Array(#"{"other":[{}"#.utf8)
        while skipped.count < IngestBatch.maxBodyBytes - 16 { skipped += Array(",{}".utf8) }
        skipped += Array("]}".utf8)
        #expect(try skipped.withUnsafeBytes { try OTLPLogs.decodeJSON($0) }.events == 0)
        #expect(ContinuousClock.now - started < .seconds(20))
    }

    @Test func eventsPastTenMiBAreA413() {
        // A 1 MiB resource, copied into each of its records, passes 10 MiB at the 10th.
        let resource = [PB.kv("big", PB.string(String(repeating: "r", count: 1024 * 1024)))]
        let body = PB.request([
            PB.resourceLogs(resource: resource, scopes: [PB.scopeLogs(name: "", version: "", records: Array(repeating: PB.record(), count: 11))]),
        ])
        #expect(throws: KeyflareError.payloadTooLarge(
            "the log records, as JSON events, would take more than 10 MiB; send fewer per request")) { try protobuf(body) }
        let over = [UInt8](repeating: 0, count: IngestBatch.maxBodyBytes + 1)
        #expect(throws: KeyflareError.payloadTooLarge("the request body is over 10 MiB")) { try protobuf(over) }
    }

    // MARK: - Partial success

    @Test func recordsThatCannotBeStoredAreDroppedAndCounted() throws {
        let body = PB.request([
            PB.resourceLogs(
                resource: [],
                scopes: [
                    PB.scopeLogs(
                        name: "", version: "",
                        records: [
                            PB.record(body: PB.string("fine")),
                            PB.record(body: PB.field(1, [0xC3, 0x28])),  // not UTF-8
                            PB.record(attributes: [PB.kv("k", PB.string("a\u{0}b"))]),  // NUL
                            PB.record(eventName: "also fine"),
                        ]),
                ]),
            // A resource that cannot be stored drops all its records.
            PB.resourceLogs(
                resource: [PB.kv("bad", PB.field(1, [0xFF]))],
                scopes: [PB.scopeLogs(name: "", version: "", records: [PB.record(), PB.record()])]),
        ])
        let decoded = try protobuf(body)
        #expect(decoded.events == 2 && decoded.rejected == 4)
        #expect(decoded.rejectionMessage == "log record 1: a string is not valid UTF-8")
        #expect(try events(decoded).map { $0["event_message"] as? String } == ["fine", "also fine"])
        #expect(try batch(decoded).count == 2)

        // JSON's own: NUL and unpaired surrogate escapes.
        let fromJSON = try json(#"""
            {"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"a\u0000"}},{"severityText":"\ud800x"},
            {"body":{"stringValue":"\ud83d\ude00 kept"}}]}]}]}
            """#)
        #expect(fromJSON.events == 1 && fromJSON.rejected == 2)
        #expect(fromJSON.rejectionMessage == "log record 0: a string holds NUL (U+0000), which cannot be stored")
        #expect(try events(fromJSON)[0]["event_message"] as? String == "😀 kept")

        // Every record dropped: nothing to store, the caller decides.
        let none = try protobuf(PB.request([PB.resourceLogs(resource: [PB.kv("k", PB.string("\u{0}"))], scopes: [PB.scopeLogs(name: "", version: "", records: [PB.record()])])]))
        #expect(none.events == 0 && none.rejected == 1 && none.json == Array("[]".utf8))
    }

    @Test func responsesReportPartialSuccess() throws {
        #expect(OTLPLogs.responseProtobuf(rejected: 0, message: nil).isEmpty)
        #expect(OTLPLogs.responseJSON(rejected: 0, message: nil) == Array("{}".utf8))

        let bytes = OTLPLogs.responseProtobuf(rejected: 2, message: "log record 1: a string is not valid UTF-8")
        var rejected: UInt64?
        var message: String?
        try bytes.withUnsafeBytes { buffer in
            var response = ProtobufReader(buffer)
            let field = try #require(try response.next())
            #expect(field.number == 1)
            guard case .bytes(let partial) = field.value else {
                Issue.record("partial_success is not a message")
                return
            }
            #expect(try response.next() == nil)
            var reader = ProtobufReader(partial)
            while let inner = try reader.next() {
                switch (inner.number, inner.value) {
                case (1, .varint(let value)): rejected = value
                case (2, .bytes(let text)): message = String(decoding: text, as: UTF8.self)
                default: Issue.record("unexpected field \(inner.number)")
                }
            }
        }
        #expect(rejected == 2 && message == "log record 1: a string is not valid UTF-8")

        let text = OTLPLogs.responseJSON(rejected: 2, message: "a \"quoted\" reason")
        #expect(String(decoding: text, as: UTF8.self) == #"{"partialSuccess":{"rejectedLogRecords":"2","errorMessage":"a \"quoted\" reason"}}"#)
    }
}

/// A protobuf encoder for the tests' bodies: just the wire format, field by field.
private enum PB {
    static func varint(_ value: UInt64) -> [UInt8] {
        var bytes: [UInt8] = []
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(rest & 0x7F) | 0x80)
            rest >>= 7
        }
        return bytes + [UInt8(rest)]
    }

    static func tag(_ number: UInt32, _ wireType: UInt8) -> [UInt8] { varint(UInt64(number) << 3 | UInt64(wireType)) }
    static func field(_ number: UInt32, _ bytes: [UInt8]) -> [UInt8] { tag(number, 2) + varint(UInt64(bytes.count)) + bytes }
    static func varintField(_ number: UInt32, _ value: UInt64) -> [UInt8] { tag(number, 0) + varint(value) }
    static func fixed64Field(_ number: UInt32, _ value: UInt64) -> [UInt8] {
        tag(number, 1) + (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }
    static func fixed32Field(_ number: UInt32, _ value: UInt32) -> [UInt8] {
        tag(number, 5) + (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }

    // AnyValue, by kind.
    static func string(_ text: String) -> [UInt8] { field(1, Array(text.utf8)) }
    static func bool(_ value: Bool) -> [UInt8] { varintField(2, value ? 1 : 0) }
    static func int(_ value: Int64) -> [UInt8] { varintField(3, UInt64(bitPattern: value)) }
    static func double(_ value: Double) -> [UInt8] { fixed64Field(4, value.bitPattern) }
    static func array(_ values: [[UInt8]]) -> [UInt8] { field(5, values.flatMap { field(1, $0) }) }
    static func kvlist(_ pairs: [[UInt8]]) -> [UInt8] { field(6, pairs.flatMap { field(1, $0) }) }
    static func bytes(_ data: [UInt8]) -> [UInt8] { field(7, data) }

    static func kv(_ key: String, _ value: [UInt8]) -> [UInt8] { field(1, Array(key.utf8)) + field(2, value) }

    static func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16) ?? 0)
            index = next
        }
        return bytes
    }

    static func record(
        time: UInt64 = 0, observed: UInt64 = 0, severity: UInt64 = 0, severityText: String? = nil, body: [UInt8]? = nil,
        attributes: [[UInt8]] = [], traceID: [UInt8]? = nil, spanID: [UInt8]? = nil, eventName: String? = nil
    ) -> [UInt8] {
        var bytes: [UInt8] = []
        if time != 0 { bytes += fixed64Field(1, time) }
        if severity != 0 { bytes += varintField(2, severity) }
        if let severityText { bytes += field(3, Array(severityText.utf8)) }
        if let body { bytes += field(5, body) }
        for attribute in attributes { bytes += field(6, attribute) }
        if let traceID { bytes += field(9, traceID) }
        if let spanID { bytes += field(10, spanID) }
        if observed != 0 { bytes += fixed64Field(11, observed) }
        if let eventName { bytes += field(12, Array(eventName.utf8)) }
        return bytes
    }

    static func scopeLogs(name: String, version: String, attributes: [[UInt8]] = [], records: [[UInt8]]) -> [UInt8] {
        let scope = field(1, Array(name.utf8)) + field(2, Array(version.utf8)) + attributes.flatMap { field(3, $0) }
        return field(1, scope) + records.flatMap { field(2, $0) } + field(3, Array("https://opentelemetry.io/schemas/1.24.0".utf8))
    }

    static func resourceLogs(resource: [[UInt8]], scopes: [[UInt8]]) -> [UInt8] {
        field(1, resource.flatMap { field(1, $0) }) + scopes.flatMap { field(2, $0) }
    }

    static func request(_ resourceLogs: [[UInt8]]) -> [UInt8] { resourceLogs.flatMap { field(1, $0) } }
}
