/// What a string must be to be stored in an event: valid UTF-8 (RFC 3629: no overlong forms, no
/// surrogates, nothing past U+10FFFF) and free of NUL, which PostgreSQL's `jsonb` cannot hold. The
/// same rules as `IngestScanner`'s, for strings that arrive outside JSON text.
enum JSONText {
    /// Why a string cannot be stored. A record holding one is dropped, not the whole request.
    enum Problem: Sendable {
        case notUTF8
        case nul
        case loneSurrogate

        /// For the partial-success message.
        var reason: String {
            switch self {
            case .notUTF8: "a string is not valid UTF-8"
            case .nul: "a string holds NUL (U+0000), which cannot be stored"
            case .loneSurrogate: "a string holds an unpaired UTF-16 surrogate escape"
            }
        }
    }

    /// Whether `utf8` can be stored as a string.
    static func check(_ utf8: UnsafeRawBufferPointer) -> Problem? {
        var i = 0
        while i < utf8.count {
            let byte = utf8[i]
            if byte == 0 { return .nul }
            if byte < 0x80 {
                i += 1
                continue
            }
            guard let count = sequenceLength(utf8, at: i) else { return .notUTF8 }
            i += count
        }
        return nil
    }

    /// The length of the valid multi-byte UTF-8 sequence starting at `i` (its lead byte is 0x80 or
    /// more), or nil when it is not one.
    static func sequenceLength(_ bytes: UnsafeRawBufferPointer, at i: Int) -> Int? {
        let count: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch bytes[i] {
        case 0xC2...0xDF: count = 2
        case 0xE0: count = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: count = 3
        case 0xED: count = 3; high = 0x9F
        case 0xF0: count = 4; low = 0x90
        case 0xF1...0xF3: count = 4
        case 0xF4: count = 4; high = 0x8F
        default: return nil
        }
        guard bytes.count - i >= count, bytes[i + 1] >= low, bytes[i + 1] <= high else { return nil }
        for k in 2..<count where bytes[i + k] & 0xC0 != 0x80 { return nil }
        return count
    }

    /// How many bytes `byte` takes inside a JSON string, escaped.
    static func escapedLength(_ byte: UInt8) -> Int {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), 0x0A, 0x0D, 0x09: 2
        case 0x00..<0x20: 6
        default: 1
        }
    }
}
