import Foundation
import KeyflareCore
import Testing

/// What Logflare's clients send beyond plain JSON: the source named in the body, NDJSON, and
/// timestamps in nanoseconds.
@Suite struct IngestBatchTests {
    let now = Date(timeIntervalSince1970: 2_000_000_000)

    func ndjson(_ text: String) throws -> IngestBatch {
        try Array(text.utf8).withUnsafeBytes { try IngestBatch.parseNDJSON($0, receivedAt: now) }
    }

    @Test func theRootObjectMayNameTheSource() throws {
        let batch = try IngestBatch.parse(
            Data(#"{"batch":[{"source":"not this one"}],"source":"6f9619ff-8b86-d011-b42d-00c04fc964ff","collection_name":"web"}"#.utf8),
            receivedAt: now)
        #expect(batch.shape == .batch)
        #expect(batch.source.source == "6f9619ff-8b86-d011-b42d-00c04fc964ff")
        #expect(batch.source.collectionName == "web")
        #expect(batch.source.sourceName == nil && batch.source.collection == nil)
        // A single event's own members count too (the Cloudflare worker sends one so), escapes decoded.
        let single = try IngestBatch.parse(Data(#"{"source_n\u0061me":"a\"b","log_entry":"x"}"#.utf8), receivedAt: now)
        #expect(single.source.sourceName == #"a"b"#)
        // Not a string: event data, ignored. Too long for any source: kept as such.
        let object = try IngestBatch.parse(Data(#"{"source":{"file":"app.js"}}"#.utf8), receivedAt: now)
        #expect(object.source == .init())
        let long = try IngestBatch.parse(Data(("{\"source\":\"" + String(repeating: "x", count: 2000) + "\"}").utf8), receivedAt: now)
        #expect(long.source.source == IngestScanner.SourceFields.tooLong)
        // An array root has no members.
        #expect(try IngestBatch.parse(Data(#"[{"source":"x"}]"#.utf8), receivedAt: now).source == .init())
    }

    @Test func ndjsonIsOneEventPerLine() throws {
        let batch = try ndjson("{\"message\":\"a\",\"timestamp\":1700000000}\r\n\n  \n{\"message\":\"b\"}")
        #expect(batch.count == 2)
        #expect(batch.shape == .array)
        #expect(batch.json == #"[{"message":"a","timestamp":1700000000},{"message":"b"}]"#)
        #expect(batch.timestamps == [Date(timeIntervalSince1970: 1_700_000_000), now])
    }

    @Test func ndjsonRefusesWhatIsNotOneObjectPerLine() {
        for (body, message) in [
            (#"{"a":1},{"b":2}"#, "NDJSON line 1: the request body is not valid JSON"),
            ("{\"a\":1}\n[{\"b\":2}]", "NDJSON line 2 is not one event object"),
            ("{\"a\":1}\n{\"batch\":[{}]}", "NDJSON line 2 is not one event object"),
            ("{\"a\":1}\n{\"b\":", "NDJSON line 2: the request body is not valid JSON"),
            ("{\"a\":\"\\u0000\"}", nil),
            ("\n\r\n", "the batch is empty: send at least one event"),
        ] as [(String, String?)] {
            #expect(throws: KeyflareError.self, "\(body)") { try ndjson(body) }
            if let message {
                #expect(throws: KeyflareError.badRequest(message)) { try ndjson(body) }
            }
        }
        let tooMany = String(repeating: "{}\n", count: IngestBatch.maxEvents + 1)
        #expect(throws: KeyflareError.payloadTooLarge("more than 10000 events in one request; the limit is 10000")) {
            try ndjson(tooMany)
        }
    }

    /// `1e131071` is 9 bytes sent and 131,072 digits written out; a body of them must not become
    /// gigabytes of text in PostgreSQL (the /json route writes each event out as its message).
    @Test func numbersThatExpandWhenWrittenOutAreBounded() throws {
        let bomb = "{\"a\":[" + Array(repeating: "1e131071", count: 100).joined(separator: ",") + "]}"
        #expect(throws: KeyflareError.payloadTooLarge(
            "the numbers in the body, written out in full, would take more than 10 MiB (exponents like 1e100000 expand)")
        ) { try IngestBatch.parse(Data(bomb.utf8), receivedAt: now) }
        let small = try IngestBatch.parse(Data(#"{"a":[1e100,2.5e-3,12345678901234567890]}"#.utf8), receivedAt: now)
        #expect(small.count == 1)
    }

    @Test func epochTimestampsUpToNanoseconds() throws {
        let expected = Date(timeIntervalSince1970: 1_700_000_000.5)
        for value in ["1700000000.5", "1700000000500", "1700000000500000", "1700000000500000000"] {
            let batch = try IngestBatch.parse(Data(#"{"timestamp":\#(value)}"#.utf8), receivedAt: now)
            #expect(abs(batch.timestamps[0].timeIntervalSince(expected)) < 0.001, "\(value)")
        }
        let iso = try IngestBatch.parse(Data(#"{"timestamp":"2026-12-01T10:00:00.123456789Z"}"#.utf8), receivedAt: now)
        #expect(abs(iso.timestamps[0].timeIntervalSince1970 - 1_796_119_200.123456789) < 0.000_01)
        // Past nanoseconds: not a time this can tell, so the receive time.
        #expect(try IngestBatch.parse(Data(#"{"timestamp":1e21}"#.utf8), receivedAt: now).timestamps == [now])
    }
}
