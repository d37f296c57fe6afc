import Foundation
import KeyflareCore
import Testing

/// BERT bodies (`application/bert`, what Logflare's Elixir clients send) become JSON text that
/// `IngestBatch.parse` takes like any JSON body; hostile ones are refused at once, never crash.
@Suite struct BERTDecoderTests {
    let now = Date(timeIntervalSince1970: 2_000_000_000)

    /// The decoder's JSON, as text.
    func json(_ bytes: [UInt8], limit: Int = IngestBatch.maxBodyBytes) throws -> String {
        String(decoding: try bytes.withUnsafeBytes { try BERTDecoder.json(from: $0, limit: limit) }, as: UTF8.self)
    }

    /// The decoder's JSON for one term (the version byte put first).
    func json(term: [UInt8], limit: Int = IngestBatch.maxBodyBytes) throws -> String {
        try json([131] + term, limit: limit)
    }

    func parse(_ bytes: [UInt8]) throws -> IngestBatch {
        let text = try bytes.withUnsafeBytes { try BERTDecoder.json(from: $0) }
        return try text.withUnsafeBytes { try IngestBatch.parse($0, receivedAt: now) }
    }

    /// Bertex's own documentation example: `Bertex.encode([42, :banana, {:xy, 5, 10}, "robot", true, false])`.
    @Test func bertexDocumentationExample() throws {
        let body: [UInt8] = [
            131, 108, 0, 0, 0, 6, 97, 42, 100, 0, 6, 98, 97, 110, 97, 110, 97, 104, 3, 100, 0, 2, 120, 121, 97, 5, 97, 10, 109,
            0, 0, 0, 5, 114, 111, 98, 111, 116, 104, 2, 100, 0, 4, 98, 101, 114, 116, 100, 0, 4, 116, 114, 117, 101, 104, 2,
            100, 0, 4, 98, 101, 114, 116, 100, 0, 5, 102, 97, 108, 115, 101, 106,
        ]
        #expect(try json(body) == #"[42,"banana",["xy",5,10],"robot",true,false]"#)
        // `:erlang.term_to_binary("été")`
        #expect(try json([131, 109, 0, 0, 0, 5, 195, 169, 116, 195, 169]) == #""été""#)
    }

    @Test func everySupportedTag() throws {
        #expect(try json(term: [97, 255]) == "255")
        #expect(try json(term: [98, 255, 255, 255, 255]) == "-1")
        #expect(try json(term: [98, 128, 0, 0, 0]) == "-2147483648")
        #expect(try json(term: [98, 127, 255, 255, 255]) == "2147483647")
        #expect(try json(term: [110, 7, 0, 0, 64, 30, 24, 36, 10, 6]) == "1700000000000000")
        #expect(try json(term: [111, 0, 0, 0, 1, 1, 7]) == "-7")
        #expect(try json(term: [70, 64, 9, 30, 184, 81, 235, 133, 31]) == "3.14")
        #expect(try json(term: ETF.oldFloat("3.14000000000000012434e+00")) == "3.14")
        #expect(try json(term: [100, 0, 2] + Array("ok".utf8)) == #""ok""#)
        #expect(try json(term: [115, 2] + Array("ok".utf8)) == #""ok""#)
        #expect(try json(term: [118, 0, 6] + Array("日本".utf8)) == #""日本""#)
        #expect(try json(term: [119, 2] + Array("ok".utf8)) == #""ok""#)
        #expect(try json(term: ETF.binary("hi")) == #""hi""#)
        #expect(try json(term: [107, 0, 3, 97, 98, 0]) == "[97,98,0]")
        #expect(try json(term: [106]) == "[]")
        #expect(try json(term: ETF.list([[97, 1], ETF.binary("x")])) == #"[1,"x"]"#)
        #expect(try json(term: ETF.map([(ETF.binary("a"), [97, 1])])) == #"{"a":1}"#)
        #expect(try json(term: [116, 0, 0, 0, 0]) == "{}")
        #expect(try json(term: ETF.tuple([ETF.atom("ok"), [97, 1]])) == #"["ok",1]"#)
        #expect(try json(term: [105, 0, 0, 0, 2, 97, 1, 97, 2]) == "[1,2]")
        #expect(try json(term: [104, 0]) == "[]")
    }

    /// `true`, `false` and `nil` are JSON literals as atoms and in Bertex's `{bert, …}` forms; any
    /// other atom is its name (`:undefined` included, as Jason writes it). No atom is interned.
    @Test func atomsAndBertexForms() throws {
        #expect(try json(term: ETF.list(["true", "false", "nil", "undefined"].map { ETF.atom($0) })) == #"[true,false,null,"undefined"]"#)
        let forms = ["true", "false", "nil"].map { ETF.tuple([ETF.atom("bert"), ETF.atom($0)]) }
        #expect(try json(term: ETF.list(forms)) == "[true,false,null]")
        // ATOM_EXT is Latin-1 (é is 0xE9), written as UTF-8.
        #expect(try json(term: [100, 0, 3, 0xE9, 0x74, 0xE9]) == #""été""#)
        #expect(try json(term: [115, 1, 0xFF]) == #""ÿ""#)
        // Old Bertex wrote maps as {bert, dict, [{Key, Value}, …]}.
        let dict = ETF.tuple([ETF.atom("bert"), ETF.atom("dict"), ETF.list([ETF.tuple([ETF.atom("a"), [97, 1]])])])
        #expect(try json(term: dict) == #"{"a":1}"#)
        #expect(try json(term: ETF.tuple([ETF.atom("bert"), ETF.atom("dict"), [106]])) == "{}")
        #expect(throws: KeyflareError.badRequest("a {bert, dict, …} term in the BERT body must hold a list of {key, value} pairs")) {
            try json(term: ETF.tuple([ETF.atom("bert"), ETF.atom("dict"), ETF.list([ETF.binary("not a pair")])]))
        }
        // Other {bert, …} tuples, and a binary "bert", are plain tuples.
        #expect(try json(term: ETF.tuple([ETF.atom("bert"), ETF.atom("time")])) == #"["bert","time"]"#)
        #expect(try json(term: ETF.tuple([ETF.binary("bert"), ETF.atom("nil")])) == #"["bert",null]"#)
        #expect(try json(term: ETF.tuple([ETF.atom("bert"), ETF.atom("true"), [97, 1]])) == #"["bert",true,1]"#)
    }

    /// What logflare_logger_backend sends: a map with the batch and the source, µs timestamps,
    /// metadata with atom keys, nil as `{bert, nil}` or as the atom.
    @Test func loggerBackendPayload() throws {
        let source = "6f9619ff-8b86-d011-b42d-00c04fc964ff"
        func event(_ message: String, _ micros: [UInt8]) -> [UInt8] {
            ETF.map([
                (ETF.binary("message"), ETF.binary(message)),
                (ETF.binary("timestamp"), micros),
                (ETF.binary("metadata"), ETF.map([
                    (ETF.atom("level"), ETF.atom("info")),
                    (ETF.atom("request_id"), ETF.tuple([ETF.atom("bert"), ETF.atom("nil")])),
                    (ETF.atom("user"), ETF.map([(ETF.atom("id"), [98, 0, 1, 226, 64]), (ETF.atom("admin"), ETF.atom("false"))])),
                    (ETF.atom("tags"), ETF.list([ETF.binary("a"), ETF.atom("nil")])),
                ])),
            ])
        }
        let body: [UInt8] = [131] + ETF.map([
            (ETF.binary("batch"), ETF.list([
                event("GET /health 200", [110, 7, 0, 0, 64, 30, 24, 36, 10, 6]),  // 1_700_000_000_000_000 µs
                event("said \"hi\"\n", [110, 7, 0, 144, 16, 34, 24, 36, 10, 6]),  // + 0.25 s
            ])),
            (ETF.binary("source"), ETF.binary(source)),
        ])
        #expect(try json(body).hasPrefix(
            #"{"batch":[{"message":"GET /health 200","timestamp":1700000000000000,"metadata":{"level":"info","request_id":null,"user":{"id":123456,"admin":false},"tags":["a",null]}},{"message":"said \"hi\"\n","#
        ))
        let batch = try parse(body)
        #expect(batch.shape == .batch)
        #expect(batch.count == 2)
        #expect(batch.source.source == source)
        #expect(batch.timestamps == [Date(timeIntervalSince1970: 1_700_000_000), Date(timeIntervalSince1970: 1_700_000_000.25)])
        // Atom keys, the source by name.
        let named: [UInt8] = [131] + ETF.map([
            (ETF.atom("batch"), ETF.list([ETF.map([(ETF.atom("message"), ETF.binary("x"))])])),
            (ETF.atom("source_name"), ETF.binary("my.app")),
        ])
        #expect(try parse(named).source.sourceName == "my.app")
    }

    @Test func bignums() throws {
        func big(_ sign: UInt8, _ digits: [UInt8]) -> [UInt8] { [110, UInt8(digits.count), sign] + digits }
        #expect(try json(term: big(0, [255, 255, 255, 255, 255, 255, 255, 255])) == "18446744073709551615")
        #expect(try json(term: big(1, [255, 255, 255, 255, 255, 255, 255, 255])) == "-18446744073709551615")
        #expect(try json(term: big(0, [0, 0, 0, 0, 0, 0, 0, 0, 1])) == "18446744073709551616")
        #expect(try json(term: big(1, [0, 0, 0, 0, 0, 0, 0, 0, 1])) == "-18446744073709551616")
        // 2^128 - 1, and 10^19 (one whole chunk of the conversion, then zeros).
        #expect(try json(term: big(0, Array(repeating: 255, count: 16))) == "340282366920938463463374607431768211455")
        #expect(try json(term: big(0, [0, 0, 0xE8, 0x89, 0x04, 0x23, 0xC7, 0x8A])) == "10000000000000000000")
        #expect(try json(term: big(0, [0, 0, 0, 0, 0x10, 0x9F, 0x4B, 0xB3, 0x15, 0x07, 0xC9, 0x7B, 0xCE, 0x97, 0xC0]))
            == "1000000000000000000000000000000000000")
        // Zero, leading zero digits, a negative zero: all plain.
        #expect(try json(term: big(1, [])) == "0")
        #expect(try json(term: big(1, [0, 0])) == "0")
        #expect(try json(term: big(0, [5, 0, 0, 0, 0, 0, 0, 0, 0, 0])) == "5")
        // The largest bignum accepted: 2^8192 - 1, 2,467 digits (checked against Python's int).
        let largest = try json(term: [111, 0, 0, 4, 0, 0] + Array(repeating: 255, count: BERTDecoder.maxBignumBytes))
        #expect(largest.count == 2467)
        #expect(largest.hasPrefix("1090748135619415929462984244733782862448"))
        #expect(largest.hasSuffix("5665475715792895"))
        #expect(throws: KeyflareError.badRequest("an integer in the BERT body is over 1024 bytes (8192 bits) long")) {
            try json(term: [111, 0, 0, 4, 1, 0] + Array(repeating: 255, count: 1025))
        }
        #expect(throws: KeyflareError.badRequest("an integer in the BERT body has an invalid sign byte")) {
            try json(term: big(2, [1]))
        }
    }

    @Test func floats() throws {
        func new(_ value: Double) -> [UInt8] {
            [70] + withUnsafeBytes(of: value.bitPattern.bigEndian, Array.init)
        }
        for (value, text) in [
            (0.1, "0.1"), (-2.5, "-2.5"), (1e20, "1e+20"), (.leastNonzeroMagnitude, "5e-324"), (-0.0, "-0.0"),
            (1.7976931348623157e308, "1.7976931348623157e+308"), (100, "100.0"),
        ] {
            #expect(try json(term: new(value)) == text)
            // What is written reads back to the same Double.
            #expect(Double(text) == value)
        }
        #expect(try json(term: ETF.oldFloat("-1.00000000000000000000e+20")) == "-1e+20")
        for value in [Double.nan, .infinity, -.infinity] {
            #expect(throws: KeyflareError.badRequest("a float in the BERT body is not finite (NaN or infinity)")) {
                try json(term: new(value))
            }
        }
        #expect(throws: KeyflareError.badRequest("a float in the BERT body is not finite (NaN or infinity)")) {
            try json(term: ETF.oldFloat("1e999"))
        }
        for text in ["inf", "nan", "0x1p3", " 1.0", "", "1.0e"] {
            #expect(throws: KeyflareError.badRequest("a float in the BERT body (FLOAT_EXT) is not a number"), "\(text)") {
                try json(term: ETF.oldFloat(text))
            }
        }
    }

    @Test func mapKeys() throws {
        let keys: [[UInt8]] = [ETF.binary("b"), ETF.atom("true"), ETF.atom("nil"), [97, 7], [98, 255, 255, 255, 254], [70, 63, 248, 0, 0, 0, 0, 0, 0]]
        #expect(try json(term: ETF.map(keys.map { ($0, [106]) })) == #"{"b":[],"true":[],"nil":[],"7":[],"-2":[],"1.5":[]}"#)
        for key in [ETF.list([[97, 1]]), [106], ETF.tuple([ETF.atom("bert"), ETF.atom("true")]), [107, 0, 1, 97], [116, 0, 0, 0, 0]] {
            #expect(throws: KeyflareError.badRequest("a map key in the BERT body is not a binary, an atom or a number (BERT term tag \(key[0]))")) {
                try json(term: ETF.map([(key, [97, 1])]))
            }
        }
    }

    @Test func stringsAreEscaped() throws {
        #expect(try json(term: ETF.binary("a\"b\\c\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}/")) == #""a\"b\\c\n\r\t\b\f\u0001\u001f\#u{7f}/""#)
        // NUL is written as \u0000, which the ingest scanner then refuses with its own message.
        let nul = try json(term: ETF.map([(ETF.binary("m"), ETF.binary("a\u{0}b"))]))
        #expect(nul == #"{"m":"a\u0000b"}"#)
        #expect(throws: KeyflareError.badRequest(
            "the body holds \\u0000 in a string, which cannot be stored (PostgreSQL's jsonb has no NUL); remove it or encode it otherwise")
        ) { try IngestBatch.parse(Data(nul.utf8), receivedAt: now) }
        // Latin-1 atoms escape their control characters too.
        #expect(try json(term: [100, 0, 2, 0x22, 0x0A]) == #""\"\n""#)
    }

    @Test func invalidUTF8IsRefused() {
        for bytes: [UInt8] in [[0xE9], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0x80], [0xFF]] {
            #expect(throws: KeyflareError.badRequest("a binary in the BERT body is not UTF-8"), "\(bytes)") {
                try json(term: [109, 0, 0, 0, UInt8(bytes.count)] + bytes)
            }
        }
        #expect(throws: KeyflareError.badRequest("an atom in the BERT body is not UTF-8")) {
            try json(term: [119, 1, 0xE9])
        }
    }

    // MARK: - Hostile bodies

    @Test func everyTruncationIsRefused() throws {
        let body: [UInt8] = [131] + ETF.map([
            (ETF.binary("batch"), ETF.list([ETF.map([
                (ETF.atom("message"), ETF.binary("été")), (ETF.atom("n"), [110, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
                (ETF.atom("f"), [70, 64, 9, 30, 184, 81, 235, 133, 31]), (ETF.atom("o"), ETF.oldFloat("1.0")),
                (ETF.atom("c"), [107, 0, 2, 1, 2]), (ETF.atom("t"), ETF.tuple([ETF.atom("bert"), ETF.atom("nil")])),
                (ETF.atom("d"), ETF.tuple([ETF.atom("bert"), ETF.atom("dict"), ETF.list([ETF.tuple([[97, 1], [106]])])])),
                (ETF.atom("l", tag: 100), [105, 0, 0, 0, 1, 98, 0, 0, 1, 0]),
            ])])),
            (ETF.atom("source"), ETF.binary("s")),
        ])
        #expect(try parse(body).source.source == "s")
        for count in 0..<body.count {
            #expect(throws: KeyflareError.self, "prefix of \(count) bytes") { try json(Array(body[0..<count])) }
        }
    }

    @Test func countsLargerThanTheBodyFailAtOnce() {
        let truncated = KeyflareError.badRequest("the BERT body is truncated")
        // A list of 2^32 - 1 elements in 10 bytes, a 4 GB binary, and the like: refused before any
        // allocation or loop (a reservation of that size would take seconds or fail).
        for term: [UInt8] in [
            [108, 255, 255, 255, 255, 97, 1, 97, 2, 106], [109, 255, 255, 255, 255, 0], [116, 255, 255, 255, 255, 97, 1],
            [105, 255, 255, 255, 255], [107, 255, 255, 97], [111, 255, 255, 255, 255, 0, 1], [100, 255, 255, 97],
            [104, 255], [110, 255, 0, 1], [108, 0, 0, 0, 1, 97, 1],
            ETF.tuple([ETF.atom("bert"), ETF.atom("dict"), [108, 255, 255, 255, 255, 106]]),
        ] {
            #expect(throws: truncated, "\(term)") { try json(term: term) }
        }
    }

    @Test func nestingStopsAtTheScannersDepth() throws {
        /// `depth` maps, each the only value of the one around it.
        func nested(_ depth: Int) -> [UInt8] {
            [131] + Array(repeating: [116, 0, 0, 0, 1] + ETF.binary("a"), count: depth - 1).flatMap { $0 } + [116, 0, 0, 0, 0]
        }
        let deepest = try parse(nested(IngestScanner.maxDepth))
        #expect(deepest.count == 1)
        let tooDeep = KeyflareError.badRequest("the BERT body is nested deeper than 128 levels")
        #expect(throws: tooDeep) { try json(nested(IngestScanner.maxDepth + 1)) }
        // Lists and tuples count, an empty list too; a scalar at depth 129 is fine (it nests nothing).
        let lists: [UInt8] = Array(repeating: [108, 0, 0, 0, 1], count: 128).flatMap { $0 } + [106] + Array(repeating: 106, count: 128)
        #expect(throws: tooDeep) { try json(term: lists) }
        #expect(try json(term: Array(lists.dropFirst(5).dropLast())).count == 2 * 128)
        #expect(throws: tooDeep) { try json(term: Array(repeating: [104, 1], count: 129).flatMap { $0 } + [97, 1]) }
        #expect(try json(term: Array(repeating: [104, 1], count: 128).flatMap { $0 } + [97, 1]).count == 2 * 128 + 1)
        // Far deeper still: refused, not a stack overflow.
        #expect(throws: tooDeep) { try json(term: Array(repeating: [104, 1], count: 100_000).flatMap { $0 } + [97, 1]) }
    }

    @Test func outputStopsAtTheLimit() throws {
        let term = ETF.binary(String(repeating: "x", count: 98))
        #expect(try json(term: term, limit: 100).count == 100)
        #expect(throws: KeyflareError.payloadTooLarge("the BERT body, written as JSON, is over 99 bytes")) {
            try json(term: term, limit: 99)
        }
        // Each control byte becomes six: 1 MiB of them crosses 4 MiB with a 413, not 6 MiB of output.
        let controls = [109, 0, 16, 0, 0] + Array(repeating: UInt8(1), count: 1 << 20)
        #expect(throws: KeyflareError.payloadTooLarge("the BERT body, written as JSON, is over 4 MiB")) {
            try json(term: controls, limit: 4 << 20)
        }
        // One byte of NIL_EXT becomes three: the default limit holds 10 MiB.
        let nils = [108, 0, 0x40, 0, 0] + Array(repeating: UInt8(106), count: 0x40_0000) + [106]
        #expect(throws: KeyflareError.payloadTooLarge("the BERT body, written as JSON, is over 10 MiB")) {
            try json(term: nils)
        }
    }

    @Test func malformedBodies() {
        #expect(throws: KeyflareError.badRequest("the BERT body does not start with version byte 131")) { try json([]) }
        #expect(throws: KeyflareError.badRequest("the BERT body does not start with version byte 131")) { try json([130, 97, 1]) }
        #expect(throws: KeyflareError.badRequest("the BERT body does not start with version byte 131")) { try json(Array(#"{"a":1}"#.utf8)) }
        #expect(throws: KeyflareError.badRequest("the BERT body is truncated")) { try json([131]) }
        #expect(throws: KeyflareError.badRequest("the BERT body has bytes after its term")) { try json([131, 97, 1, 0]) }
        #expect(throws: KeyflareError.badRequest("the BERT body has bytes after its term")) { try json([131, 106, 131, 106]) }
        let improper = KeyflareError.badRequest("the BERT body holds an improper list (its tail is not [])")
        #expect(throws: improper) { try json(term: [108, 0, 0, 0, 1, 97, 1, 97, 2]) }
        #expect(throws: improper) { try json(term: [108, 0, 0, 0, 1, 97, 1, 108, 0, 0, 0, 1, 97, 2, 106]) }
    }

    @Test func unsupportedTagsAreNamed() {
        for (tag, name) in [
            (103, "PID"), (88, "PID"), (102, "port"), (89, "port"), (120, "port"), (101, "reference"), (114, "reference"),
            (90, "reference"), (117, "fun"), (112, "fun"), (113, "export"), (77, "bit binary"), (80, "compressed term"),
            (82, "atom cache reference"), (121, "local"),
        ] as [(UInt8, String)] {
            #expect(throws: KeyflareError.badRequest("BERT term tag \(tag) (\(name)) is not supported")) {
                try json(term: [tag, 0, 0, 0, 0, 0, 0, 0, 0])
            }
        }
        for tag: UInt8 in [0, 69, 96, 200, 255] {
            #expect(throws: KeyflareError.badRequest("BERT term tag \(tag) is not a known term type")) { try json(term: [tag]) }
        }
        // Inside a container too: a pid in an event's metadata.
        #expect(throws: KeyflareError.badRequest("BERT term tag 103 (PID) is not supported")) {
            try json(term: ETF.map([(ETF.atom("pid"), [103, 100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])]))
        }
    }
}

/// Builds terms in the external term format by hand (without the version byte).
private enum ETF {
    static func length32(_ count: Int) -> [UInt8] { withUnsafeBytes(of: UInt32(count).bigEndian, Array.init) }

    static func binary(_ text: String) -> [UInt8] { [109] + length32(text.utf8.count) + Array(text.utf8) }

    /// SMALL_ATOM_UTF8_EXT by default; ATOM_EXT (100) with `tag`.
    static func atom(_ name: String, tag: UInt8 = 119) -> [UInt8] {
        tag == 100 ? [100, 0, UInt8(name.utf8.count)] + Array(name.utf8) : [119, UInt8(name.utf8.count)] + Array(name.utf8)
    }

    static func list(_ elements: [[UInt8]]) -> [UInt8] { [108] + length32(elements.count) + elements.flatMap { $0 } + [106] }

    static func map(_ pairs: [([UInt8], [UInt8])]) -> [UInt8] {
        [116] + length32(pairs.count) + pairs.flatMap { $0.0 + $0.1 }
    }

    static func tuple(_ elements: [[UInt8]]) -> [UInt8] { [104, UInt8(elements.count)] + elements.flatMap { $0 } }

    /// FLOAT_EXT: the text in 31 bytes, padded with NULs.
    static func oldFloat(_ text: String) -> [UInt8] { [99] + Array(text.utf8) + Array(repeating: 0, count: 31 - text.utf8.count) }
}
