/// A single pass over an ingest body that validates it as JSON and finds its events without building
/// any object: it counts events as it goes, stops at the first limit it crosses, and keeps only each
/// event's `timestamp` token. Its memory is a few words plus one small value per event, whatever the
/// body holds; `JSONSerialization` built every object first (10 MiB of `{}` cost 3.8 GB).
///
/// It also refuses what PostgreSQL's `jsonb` would refuse later, so that a body is stored whole or
/// refused whole: invalid UTF-8, `\u0000`, and unpaired surrogate escapes. Where a key repeats, the
/// last one counts, as in `jsonb`.
public struct IngestScanner {
    /// A token found for an event's `timestamp` key.
    public enum TimestampToken: Sendable, Equatable {
        /// A string, decoded (only short ones are kept; a long one cannot be a timestamp).
        case string(String)
        /// A number, as its text.
        case number(String)
        /// Anything else: `true`, `null`, an object…
        case other
    }

    /// What the body holds.
    public struct Result: Sendable, Equatable {
        /// How the events are wrapped.
        public var shape: IngestBatch.Shape
        /// One entry per event: its `timestamp` token, if it has one.
        public var timestamps: [TimestampToken?]
        /// Where the body itself names the source (top-level members of its root object).
        public var source = SourceFields()

        public init(shape: IngestBatch.Shape, timestamps: [TimestampToken?], source: SourceFields = SourceFields()) {
            self.shape = shape
            self.timestamps = timestamps
            self.source = source
        }
    }

    /// The root object's `source_name`, `collection_name`, `source` and `collection` members, when
    /// they are strings (Logflare's clients may name the source in the body). Any other value is
    /// event data and is ignored; a string longer than `maxSourceFieldBytes` is kept as `tooLong`.
    public struct SourceFields: Sendable, Equatable {
        public var sourceName: String?
        public var collectionName: String?
        public var source: String?
        public var collection: String?

        public init(sourceName: String? = nil, collectionName: String? = nil, source: String? = nil, collection: String? = nil) {
            self.sourceName = sourceName
            self.collectionName = collectionName
            self.source = source
            self.collection = collection
        }

        /// Stands for a string too long to be any source's id or name: a lone NUL, which no decoded
        /// body string can be (the scanner refuses `\u0000`) and no source name holds.
        public static let tooLong = "\u{0}"
    }

    /// Longest source id or name kept from a body (a source name is at most 128 scalars).
    static let maxSourceFieldBytes = 1024

    /// Deepest nesting accepted, counting the root as 1.
    public static let maxDepth = 128
    /// Longest string kept as a timestamp candidate, in bytes.
    static let maxTimestampBytes = 64

    private let bytes: UnsafeRawBufferPointer
    private let maxEvents: Int
    private var i = 0
    /// How many bytes the body's numbers gain when PostgreSQL writes them out in full.
    private var expansion = 0

    /// Most bytes the body's numbers may gain when written out in full (`1e131071` is 9 bytes sent
    /// and 131,072 digits as text, which any `::text`, `->>` or `row_to_json` writes): 10 MiB.
    public static let maxExpansionBytes = 10 * 1024 * 1024

    /// Scans a body.
    /// - Parameters:
    ///   - body: the decompressed bytes.
    ///   - maxEvents: most events accepted; one more is a 413 at once.
    public static func scan(_ body: UnsafeRawBufferPointer, maxEvents: Int) throws -> Result {
        var scanner = IngestScanner(bytes: body, maxEvents: maxEvents)
        return try scanner.root()
    }

    private init(bytes: UnsafeRawBufferPointer, maxEvents: Int) {
        self.bytes = bytes
        self.maxEvents = maxEvents
    }

    // MARK: - Structure

    private mutating func root() throws -> Result {
        skipWhitespace()
        let result: Result
        switch peek() {
        case UInt8(ascii: "{"):
            result = try rootObject()
        case UInt8(ascii: "["):
            result = Result(shape: .array, timestamps: try eventArray(depth: 1))
        case nil:
            throw Self.invalid
        default:
            try value(depth: 1)
            throw KeyflareError.badRequest("the body must be an event object, an array of events, or {\"batch\": [...]}")
        }
        skipWhitespace()
        guard i == bytes.count else { throw Self.invalid }
        guard !result.timestamps.isEmpty else { throw KeyflareError.badRequest("the batch is empty: send at least one event") }
        return result
    }

    /// `{"batch": [...], …}` or a single event.
    private mutating func rootObject() throws -> Result {
        var timestamp: TimestampToken?
        var batch: [TimestampToken?]?
        var source = SourceFields()
        try object(depth: 1) { scanner, key in
            if let field = key.sourceField {
                let value = try scanner.sourceFieldValue(depth: 2)
                switch field {
                case \.sourceName: source.sourceName = value
                case \.collectionName: source.collectionName = value
                case \.source: source.source = value
                default: source.collection = value
                }
            } else if key == .batch {
                guard scanner.peek() == UInt8(ascii: "[") else {
                    throw KeyflareError.badRequest("\"batch\" must be an array of event objects")
                }
                batch = try scanner.eventArray(depth: 2)
            } else if key == .timestamp {
                timestamp = try scanner.timestampValue(depth: 2)
            } else {
                try scanner.value(depth: 2)
            }
        }
        if let batch { return Result(shape: .batch, timestamps: batch, source: source) }
        return Result(shape: .single, timestamps: [timestamp], source: source)
    }

    /// An array whose every element is an event object.
    private mutating func eventArray(depth: Int) throws -> [TimestampToken?] {
        try enter(depth)
        i += 1  // [
        var timestamps: [TimestampToken?] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            i += 1
            return timestamps
        }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "{") else {
                if peek() == nil { throw Self.invalid }
                throw KeyflareError.badRequest("event at index \(timestamps.count) is not a JSON object")
            }
            guard timestamps.count < maxEvents else {
                throw KeyflareError.payloadTooLarge("more than \(maxEvents) events in one request; the limit is \(maxEvents)")
            }
            var timestamp: TimestampToken?
            try object(depth: depth + 1) { scanner, key in
                if key == .timestamp {
                    timestamp = try scanner.timestampValue(depth: depth + 2)
                } else {
                    try scanner.value(depth: depth + 2)
                }
            }
            timestamps.append(timestamp)
            skipWhitespace()
            switch next() {
            case UInt8(ascii: ","): continue
            case UInt8(ascii: "]"): return timestamps
            default: throw Self.invalid
            }
        }
    }

    /// The keys this scanner cares about; every other key is only validated.
    private enum Key {
        case batch, timestamp, sourceName, collectionName, source, collection, other

        /// Which source field a root member sets, if any.
        var sourceField: WritableKeyPath<SourceFields, String?>? {
            switch self {
            case .sourceName: \.sourceName
            case .collectionName: \.collectionName
            case .source: \.source
            case .collection: \.collection
            default: nil
            }
        }
    }

    /// A source member's value: the string, `tooLong` for a long one, nil for any other JSON value.
    private mutating func sourceFieldValue(depth: Int) throws -> String? {
        guard peek() == UInt8(ascii: "\"") else {
            try value(depth: depth)
            return nil
        }
        return try string(keep: Self.maxSourceFieldBytes) ?? SourceFields.tooLong
    }

    /// An object; `member` is called with the scanner positioned at each member's value.
    private mutating func object(depth: Int, member: (inout IngestScanner, Key) throws -> Void) throws {
        try enter(depth)
        i += 1  // {
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            i += 1
            return
        }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else { throw Self.invalid }
            let key = try keyString()
            skipWhitespace()
            guard next() == UInt8(ascii: ":") else { throw Self.invalid }
            skipWhitespace()
            try member(&self, key)
            skipWhitespace()
            switch next() {
            case UInt8(ascii: ","): continue
            case UInt8(ascii: "}"): return
            default: throw Self.invalid
            }
        }
    }

    /// Any JSON value, validated and skipped.
    private mutating func value(depth: Int) throws {
        guard let c = peek() else { throw Self.invalid }
        switch c {
        case UInt8(ascii: "{"):
            try object(depth: depth) { scanner, _ in try scanner.value(depth: depth + 1) }
        case UInt8(ascii: "["):
            try enter(depth)
            i += 1
            skipWhitespace()
            if peek() == UInt8(ascii: "]") {
                i += 1
                return
            }
            while true {
                skipWhitespace()
                try value(depth: depth + 1)
                skipWhitespace()
                switch next() {
                case UInt8(ascii: ","): continue
                case UInt8(ascii: "]"): return
                default: throw Self.invalid
                }
            }
        case UInt8(ascii: "\""):
            _ = try string(keep: 0)
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            _ = try number()
        default:
            throw Self.invalid
        }
    }

    /// A `timestamp` member's value: kept when it is a short string or a number.
    private mutating func timestampValue(depth: Int) throws -> TimestampToken {
        guard let c = peek() else { throw Self.invalid }
        switch c {
        case UInt8(ascii: "\""):
            return try string(keep: Self.maxTimestampBytes).map(TimestampToken.string) ?? .other
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try number())
        default:
            try value(depth: depth)
            return .other
        }
    }

    private func enter(_ depth: Int) throws {
        guard depth <= Self.maxDepth else {
            throw KeyflareError.badRequest("the body is nested deeper than \(Self.maxDepth) levels")
        }
    }

    // MARK: - Tokens

    private static let invalid = KeyflareError.badRequest("the request body is not valid JSON")

    private func peek() -> UInt8? { i < bytes.count ? bytes[i] : nil }

    private mutating func next() -> UInt8? {
        guard i < bytes.count else { return nil }
        defer { i += 1 }
        return bytes[i]
    }

    private mutating func skipWhitespace() {
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return
            }
        }
    }

    private mutating func literal(_ word: StaticString) throws {
        let count = word.utf8CodeUnitCount
        guard i + count <= bytes.count else { throw Self.invalid }
        for k in 0..<count where bytes[i + k] != word.utf8Start[k] { throw Self.invalid }
        i += count
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, returned as text. `jsonb` stores numbers
    /// as `numeric`, which holds at most 131,072 digits before the point and 16,383 after it; a
    /// number past either (`1e131072`, `1e-16384`) would fail the whole group commit, so it is
    /// refused here.
    private mutating func number() throws -> String {
        let start = i
        func digits() -> Int {
            let from = i
            while let c = peek(), c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") { i += 1 }
            return i - from
        }
        if peek() == UInt8(ascii: "-") { i += 1 }
        let integerDigits: Int
        if peek() == UInt8(ascii: "0") {
            i += 1
            integerDigits = 0
        } else {
            integerDigits = digits()
            guard integerDigits > 0 else { throw Self.invalid }
        }
        var fractionDigits = 0
        if peek() == UInt8(ascii: ".") {
            i += 1
            fractionDigits = digits()
            guard fractionDigits > 0 else { throw Self.invalid }
        }
        var exponent = 0
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            i += 1
            var negative = false
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") {
                negative = peek() == UInt8(ascii: "-")
                i += 1
            }
            let from = i
            guard digits() > 0 else { throw Self.invalid }
            // Seven significant digits already pass either limit; more would overflow an Int.
            var magnitude = 0
            for k in from..<i {
                magnitude = min(magnitude * 10 + Int(bytes[k] - UInt8(ascii: "0")), 10_000_000)
            }
            exponent = negative ? -magnitude : magnitude
        }
        guard integerDigits + exponent <= Self.maxNumericIntegerDigits, fractionDigits - exponent <= Self.maxNumericFractionDigits
        else {
            throw KeyflareError.badRequest(
                "a number in the body is out of range: at most 131072 digits before the decimal point and 16383 after it")
        }
        // numeric's text: sign, the integer digits (at least one), the point and the scale's digits.
        let written = 2 + max(integerDigits + exponent, 1) + max(fractionDigits - exponent, 0)
        expansion += max(written - (i - start), 0)
        guard expansion <= Self.maxExpansionBytes else {
            throw KeyflareError.payloadTooLarge(
                "the numbers in the body, written out in full, would take more than 10 MiB (exponents like 1e100000 expand)")
        }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
    }

    /// PostgreSQL `numeric`'s limits, which `jsonb` numbers share.
    static let maxNumericIntegerDigits = 131_072
    static let maxNumericFractionDigits = 16_383

    /// A key: only the few this scanner cares about are told apart. Keys with escapes are decoded.
    private mutating func keyString() throws -> Key {
        switch try string(keep: 16) {
        case "batch": .batch
        case "timestamp": .timestamp
        case "source_name": .sourceName
        case "collection_name": .collectionName
        case "source": .source
        case "collection": .collection
        default: .other
        }
    }

    /// A string token. Validates escapes and UTF-8; returns the decoded text when it is at most
    /// `keep` bytes long, else nil (the token is still fully validated).
    private mutating func string(keep: Int) throws -> String? {
        i += 1  // "
        var kept: [UInt8]? = keep > 0 ? [] : nil
        func append(_ byte: UInt8) {
            guard kept != nil else { return }
            if kept!.count >= keep { kept = nil } else { kept!.append(byte) }
        }
        func appendScalar(_ value: UInt32) {
            for byte in String(Unicode.Scalar(value)!).utf8 { append(byte) }
        }
        while true {
            guard let c = next() else { throw Self.invalid }
            switch c {
            case UInt8(ascii: "\""):
                return kept.map { String(decoding: $0, as: UTF8.self) }
            case UInt8(ascii: "\\"):
                guard let e = next() else { throw Self.invalid }
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): append(e)
                case UInt8(ascii: "b"): append(0x08)
                case UInt8(ascii: "f"): append(0x0C)
                case UInt8(ascii: "n"): append(0x0A)
                case UInt8(ascii: "r"): append(0x0D)
                case UInt8(ascii: "t"): append(0x09)
                case UInt8(ascii: "u"):
                    let unit = try hex4()
                    if unit == 0 {
                        throw KeyflareError.badRequest(
                            "the body holds \\u0000 in a string, which cannot be stored (PostgreSQL's jsonb has no NUL); remove it or encode it otherwise")
                    }
                    if (0xD800...0xDBFF).contains(unit) {
                        guard next() == UInt8(ascii: "\\"), next() == UInt8(ascii: "u") else { throw Self.loneSurrogate }
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw Self.loneSurrogate }
                        appendScalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                    } else if (0xDC00...0xDFFF).contains(unit) {
                        throw Self.loneSurrogate
                    } else {
                        appendScalar(unit)
                    }
                default:
                    throw Self.invalid
                }
            case 0x00..<0x20:
                throw Self.invalid
            case 0x20..<0x80:
                append(c)
            default:
                let start = i - 1
                try utf8Sequence(lead: c)
                for k in start..<i { append(bytes[k]) }
            }
        }
    }

    private static let loneSurrogate = KeyflareError.badRequest("the body holds an unpaired UTF-16 surrogate escape (\\ud800–\\udfff)")
    private static let notUTF8 = KeyflareError.badRequest("the request body is not valid UTF-8")

    private mutating func hex4() throws -> UInt32 {
        guard i + 4 <= bytes.count else { throw Self.invalid }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            i += 1
            let digit: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw Self.invalid
            }
            value = value << 4 | digit
        }
        return value
    }

    /// The continuation bytes of a multi-byte UTF-8 sequence whose lead byte was just read; refuses
    /// overlong forms, surrogates and values past U+10FFFF (RFC 3629).
    private mutating func utf8Sequence(lead: UInt8) throws {
        let count: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: count = 1
        case 0xE0: count = 2; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: count = 2
        case 0xED: count = 2; high = 0x9F
        case 0xF0: count = 3; low = 0x90
        case 0xF1...0xF3: count = 3
        case 0xF4: count = 3; high = 0x8F
        default: throw Self.notUTF8
        }
        guard i + count <= bytes.count else { throw Self.notUTF8 }
        guard bytes[i] >= low, bytes[i] <= high else { throw Self.notUTF8 }
        for k in 1..<count where bytes[i + k] & 0xC0 != 0x80 { throw Self.notUTF8 }
        i += count
    }
}
