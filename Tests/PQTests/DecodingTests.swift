import Foundation
import Testing

@testable import PQ

@Suite struct DecodingTests {
    @Test func timestampsParseWithAnyOffsetAndPrecision() throws {
        #expect(Timestamp.parse("2023-11-14 22:13:20+00") == Date(timeIntervalSince1970: 1_700_000_000))
        #expect(Timestamp.parse("2023-11-14 22:13:20.5+00") == Date(timeIntervalSince1970: 1_700_000_000.5))
        #expect(Timestamp.parse("2023-11-15 00:13:20+02") == Date(timeIntervalSince1970: 1_700_000_000))
        #expect(Timestamp.parse("2023-11-14 16:43:20-05:30") == Date(timeIntervalSince1970: 1_700_000_000))
        #expect(Timestamp.parse("1969-12-31 23:59:59+00") == Date(timeIntervalSince1970: -1))
        #expect(Timestamp.parse("not a date") == nil)
        #expect(Timestamp.parse("2023-13-01 00:00:00+00") == nil)
    }

    @Test func timestampFormatRoundTrips() {
        for seconds in [0.0, -1.25, 1_700_000_000.123456, 4_102_444_800] {
            let date = Date(timeIntervalSince1970: seconds)
            let parsed = Timestamp.parse(Timestamp.format(date))!
            #expect(abs(parsed.timeIntervalSince1970 - seconds) < 0.000_001)
        }
    }

    @Test func arraysParse() {
        #expect([String](queryText: "{}") == [])
        #expect([String](queryText: "{ingest,query}") == ["ingest", "query"])
        #expect([String](queryText: #"{"a b","c\"d",NULL,"NULL"}"#) == ["a b", "c\"d", "NULL"])
        #expect([String](queryText: "ingest") == nil)
    }

    @Test func scalarsParse() {
        #expect(Bool(queryText: "t") == true)
        #expect(Bool(queryText: "f") == false)
        #expect(Bool(queryText: "maybe") == nil)
        #expect(Int(queryText: "42") == 42)
        #expect(UUID(queryText: "nope") == nil)
    }

    @Test func rowDecodingNamesTheColumnButNotTheValue() throws {
        let row = Row(columnIndex: ColumnIndex(["id", "n"]), values: ["kf_secret_value", nil])
        #expect(row["id"] == "kf_secret_value")
        #expect(try row.decodeIfPresent("n", as: Int.self) == nil)
        do {
            _ = try row.decode("id", as: UUID.self)
            Issue.record("expected a decoding error")
        } catch let error as PQError {
            #expect(error.kind == .decoding)
            #expect(error.message.contains("id"))
            #expect(!error.debugDescription.contains("kf_secret_value"))
        }
        #expect(throws: PQError.self) { try row.decode("missing", as: String.self) }
    }
}
