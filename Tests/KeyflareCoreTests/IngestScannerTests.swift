import Foundation
import KeyflareCore
import Testing

/// The budgeted scanner that replaced `JSONSerialization` for ingest bodies.
@Suite struct IngestScannerTests {
    let now = Date(timeIntervalSince1970: 2_000_000_000)

    func parse(_ text: String) throws -> IngestBatch {
        try IngestBatch.parse(Data(text.utf8), receivedAt: now)
    }

    func parse(bytes: [UInt8]) throws -> IngestBatch {
        try IngestBatch.parse(Data(bytes), receivedAt: now)
    }

    @Test func aMillionTinyObjectsStopAtTheLimitWithoutBuildingThem() throws {
        let body = "[" + String(repeating: "{},", count: 3_600_000) + "{}]"
        #expect(throws: KeyflareError.payloadTooLarge("the request body is over 10 MiB")) { try parse(body) }
        // 10 MiB of {} is refused when event 10,001 starts, having read about 30 KB of it.
        let justUnder = Data(("[" + String(repeating: "{},", count: 3_400_000)).utf8.prefix(IngestBatch.maxBodyBytes))
        #expect(throws: KeyflareError.payloadTooLarge("more than 10000 events in one request; the limit is 10000")) {
            try IngestBatch.parse(justUnder, receivedAt: now)
        }
    }

    @Test func whatJSONBWouldRefuseIsRefusedWhole() throws {
        #expect(throws: KeyflareError.self) { try parse(#"{"m":"desc\u0000tail"}"#) }
        #expect(throws: KeyflareError.badRequest("the body holds an unpaired UTF-16 surrogate escape (\\ud800–\\udfff)")) {
            try parse(#"{"m":"\ud800x"}"#)
        }
        #expect(throws: KeyflareError.self) { try parse(#"{"m":"\udc00"}"#) }
        let open = Array(#"{"m":""#.utf8)
        let close = Array(#""}"#.utf8)
        #expect(throws: KeyflareError.badRequest("the request body is not valid UTF-8")) { try parse(bytes: open + [0xC0, 0xAF] + close) }
        #expect(throws: KeyflareError.self) { try parse(bytes: open + [0xED, 0xA0, 0x80] + close) }
        #expect(throws: KeyflareError.self) { try parse(bytes: open + [0xF4, 0x90, 0x80, 0x80] + close) }
        #expect(throws: KeyflareError.self) { try parse(bytes: open + [0xE2, 0x82]) }
        #expect(try parse(#"{"m":"\ud83d\ude00 ok \u00e9"}"#).count == 1)
        #expect(try parse("{\"m\":\"ünïcødé 🚀\"}").count == 1)
    }

    /// jsonb keeps numbers as numeric (131,072 digits before the point, 16,383 after): past that,
    /// PostgreSQL would refuse the whole group commit, so the scanner refuses the body first.
    @Test func numbersPastNumericRangeAreRefused() throws {
        #expect(try parse(#"{"a":1e131071}"#).count == 1)
        #expect(try parse(#"{"a":1e-16383,"b":-0.5E+3}"#).count == 1)
        for body in [#"{"a":1e131072}"#, #"[{"a":1e-16384}]"#, #"{"a":1e99999999999999999999}"#,
            #"{"a":0."# + String(repeating: "1", count: 16_384) + "}"] {
            #expect(throws: KeyflareError.self, "\(body.prefix(40))") { try parse(body) }
        }
    }

    @Test func depthIsBounded() throws {
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(throws: KeyflareError.badRequest("the body is nested deeper than 128 levels")) { try parse(#"{"a":"# + deep + "}") }
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(try parse(#"{"a":"# + fine + "}").count == 1)
    }

    @Test func keysAreReadAsJSONBReadsThem() throws {
        // An escaped key is the same key; the last of repeated keys wins.
        #expect(try parse(#"{"b\u0061tch":[{},{}]}"#).shape == .batch)
        #expect(try parse(#"{"batch":[{},{},{}],"batch":[{}]}"#).count == 1)
        let last = try parse(#"{"timestamp":1,"timestamp":1700000000}"#)
        #expect(last.timestamps == [Date(timeIntervalSince1970: 1_700_000_000)])
        #expect(throws: KeyflareError.badRequest("\"batch\" must be an array of event objects")) { try parse(#"{"batch":{}}"#) }
    }

    static func hasTrailingComma(_ bytes: [UInt8]) -> Bool {
        let significant = bytes.filter { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
        return zip(significant, significant.dropFirst()).contains { $0 == UInt8(ascii: ",") && ($1 == UInt8(ascii: "]") || $1 == UInt8(ascii: "}")) }
    }

    /// Every mutation of a few seeds is accepted exactly when Foundation's parser accepts it, except
    /// for the refusals that are ours by design (a valid JSON value of the wrong shape).
    @Test func agreesWithFoundationOnMutatedBodies() throws {
        let seeds = [
            #"{"batch":[{"a":1,"timestamp":"2023-11-14T22:13:20Z"},{"b":[1,2.5e3,-0.1,true,false,null]}]}"#,
            #"[{"m":"x\"y\\z\/\b\f\n\r\t\u00e9"},{"n":{"deep":{"er":[{}]}}}]"#,
            #"{"event_message":"hello","metadata":{"level":"info","n":-12}}"#,
        ]
        let alphabet = Array(#"{}[],:"\ 0123456789.eE+-truefalsnul\abc"#.utf8)
        var generator = SplitMix64(seed: 0x4B46)
        var compared = 0
        for seed in seeds {
            let base = Array(seed.utf8)
            for _ in 0..<2_000 {
                var bytes = base
                for _ in 0..<(1 + Int(generator.next() % 3)) {
                    let at = Int(generator.next() % UInt64(bytes.count))
                    switch generator.next() % 3 {
                    case 0: bytes[at] = alphabet[Int(generator.next() % UInt64(alphabet.count))]
                    case 1: bytes.remove(at: at)
                    default: bytes.insert(alphabet[Int(generator.next() % UInt64(alphabet.count))], at: at)
                    }
                    if bytes.isEmpty { bytes = [0x20] }
                }
                let foundation = (try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])) != nil
                var ours = true
                var shapeRefusal = false
                do {
                    _ = try parse(bytes: bytes)
                } catch let error as KeyflareError {
                    ours = false
                    shapeRefusal = !error.message.contains("not valid JSON")
                }
                compared += 1
                if foundation && shapeRefusal { continue }
                // Foundation also takes trailing commas ([1,] and {"a":1,}), which RFC 8259 and
                // PostgreSQL's jsonb refuse; so do we.
                if foundation && !ours && Self.hasTrailingComma(bytes) { continue }
                #expect(ours == foundation, "\(String(decoding: bytes, as: UTF8.self))")
            }
        }
        #expect(compared == 6_000)
    }
}

/// A small deterministic generator, so a failure can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
