import Foundation
import KeyflareCore
import Testing

@Suite struct IngestBatchTests {
    let now = Date(timeIntervalSince1970: 2_000_000_000)

    func parse(_ text: String) throws -> IngestBatch {
        try IngestBatch.parse(Data(text.utf8), receivedAt: now)
    }

    @Test func threeShapes() throws {
        #expect(try parse(#"{"batch":[{"a":1},{"a":2}]}"#).count == 2)
        #expect(try parse(#"{"batch":[{"a":1},{"a":2}]}"#).shape == .batch)
        #expect(try parse(#"[{"a":1},{"a":2},{"a":3}]"#).count == 3)
        #expect(try parse(#"[{"a":1},{"a":2},{"a":3}]"#).shape == .array)
        #expect(try parse(#"{"a":1}"#).count == 1)
        #expect(try parse(#"{"a":1}"#).shape == .single)
        #expect(try parse(#"{"a" : 1}"#).json == #"{"a" : 1}"#, "the body is kept exactly as sent")
    }

    @Test func timestampsByMagnitudeAndFormat() throws {
        let events = try parse(
            #"[{"timestamp":1700000000},{"timestamp":1700000000500},{"timestamp":1700000000500000},"#
                + #"{"timestamp":"2023-11-14T22:13:20.5Z"},{"timestamp":true},{"timestamp":"soon"},{}]"#
        )
        let seconds = events.timestamps.map(\.timeIntervalSince1970)
        #expect(seconds[0] == 1_700_000_000)
        #expect(abs(seconds[1] - 1_700_000_000.5) < 1e-6)
        #expect(abs(seconds[2] - 1_700_000_000.5) < 1e-6)
        #expect(abs(seconds[3] - 1_700_000_000.5) < 1e-6)
        #expect(seconds[4...].allSatisfy { $0 == now.timeIntervalSince1970 })
    }

    @Test func rejectionsNameTheProblem() {
        #expect(throws: KeyflareError.badRequest("event at index 1 is not a JSON object")) { try parse(#"[{"a":1},[1]]"#) }
        #expect(throws: KeyflareError.badRequest("the batch is empty: send at least one event")) { try parse("[]") }
        #expect(throws: KeyflareError.self) { try parse("{") }
        #expect(throws: KeyflareError.self) { try parse(#""text""#) }
        let tooMany = "[" + Array(repeating: "{}", count: IngestBatch.maxEvents + 1).joined(separator: ",") + "]"
        #expect(throws: KeyflareError.payloadTooLarge("10001 events in one request; the limit is 10000")) { try parse(tooMany) }
    }
}
