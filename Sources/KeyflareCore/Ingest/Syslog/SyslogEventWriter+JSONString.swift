/// JSON strings written straight from the body's bytes, escaped one byte or scalar at a time.
extension SyslogEventWriter {
    /// A JSON string of `bytes[range]`; with `withoutANSI`, terminal colour codes are dropped as
    /// Logflare does for `event_message` (`ESC [ 0-9; … m`, optionally followed by `ESC [ K`).
    mutating func string(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, withoutANSI: Bool = false) throws {
        out.append(UInt8(ascii: "\""))
        var i = range.lowerBound
        let end = range.upperBound
        while i < end {
            if Self.isPlain(bytes[i]) {
                var j = i + 1
                while j < end, Self.isPlain(bytes[j]) { j += 1 }
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[i..<j]))
                i = j
            } else if withoutANSI, bytes[i] == 0x1B, let length = Self.colourCodeLength(bytes, at: i, end: end) {
                i += length
            } else {
                try character(bytes, &i, end)
            }
        }
        out.append(UInt8(ascii: "\""))
        try checkLimit()
    }

    /// A JSON string of a quoted value starting at `start` (after its opening quote), where a
    /// backslash before a byte of `unescaping` stands for that byte and any other backslash is
    /// itself (RFC 5424 §6.3.3). Returns the index of the closing quote, or `end` when there is none.
    mutating func quoted(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int, unescaping: [UInt8]) throws -> Int {
        out.append(UInt8(ascii: "\""))
        var i = start
        while i < end, bytes[i] != UInt8(ascii: "\"") {
            if bytes[i] == UInt8(ascii: "\\"), i + 1 < end, unescaping.contains(bytes[i + 1]) { i += 1 }
            try character(bytes, &i, end)
        }
        out.append(UInt8(ascii: "\""))
        return i
    }

    /// What a backslash escapes in an SD PARAM-VALUE (RFC 5424 §6.3.3) and in a logfmt value.
    static let paramValueEscapes: [UInt8] = [UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "]")]
    static let logfmtEscapes: [UInt8] = [UInt8(ascii: "\""), UInt8(ascii: "\\")]

    /// Printable ASCII that JSON takes as it is.
    private static func isPlain(_ byte: UInt8) -> Bool {
        byte >= 0x20 && byte < 0x80 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\")
    }

    private static let replacement: [UInt8] = [0xEF, 0xBF, 0xBD]
    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Writes the byte or UTF-8 sequence at `i`, escaped, and moves past it.
    private mutating func character(_ bytes: UnsafeRawBufferPointer, _ i: inout Int, _ end: Int) throws {
        let byte = bytes[i]
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"):
            out.append(UInt8(ascii: "\\"))
            out.append(byte)
            i += 1
        case 0:
            out.append(contentsOf: Self.replacement)
            i += 1
        case 0x01..<0x20:
            literal("\\u00")
            out.append(Self.hexDigits[Int(byte >> 4)])
            out.append(Self.hexDigits[Int(byte & 0xF)])
            i += 1
        case 0x20..<0x80:
            out.append(byte)
            i += 1
        default:
            let (length, valid) = Self.utf8Sequence(bytes, at: i, end: end)
            if valid {
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[i..<(i + length)]))
            } else {
                out.append(contentsOf: Self.replacement)
            }
            i += length
        }
        try checkLimit()
    }

    /// The length of the UTF-8 sequence at `i` and whether it is valid (RFC 3629: no overlong
    /// forms, surrogates or values past U+10FFFF). An invalid one's length is its maximal subpart,
    /// at least 1: the bytes one U+FFFD replaces.
    static func utf8Sequence(_ bytes: UnsafeRawBufferPointer, at i: Int, end: Int) -> (length: Int, valid: Bool) {
        let count: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch bytes[i] {
        case 0x00..<0x80: return (1, true)
        case 0xC2...0xDF: count = 1
        case 0xE0: (count, low) = (2, 0xA0)
        case 0xE1...0xEC, 0xEE...0xEF: count = 2
        case 0xED: (count, high) = (2, 0x9F)
        case 0xF0: (count, low) = (3, 0x90)
        case 0xF1...0xF3: count = 3
        case 0xF4: (count, high) = (3, 0x8F)
        default: return (1, false)
        }
        var length = 1
        while length <= count {
            guard i + length < end else { return (length, false) }
            let next = bytes[i + length]
            guard length == 1 ? (next >= low && next <= high) : (next & 0xC0 == 0x80) else { return (length, false) }
            length += 1
        }
        return (length, true)
    }

    /// `ESC [ [0-9;]* m`, and an `ESC [ K` right after it: the length, or nil when `i` starts none.
    private static func colourCodeLength(_ bytes: UnsafeRawBufferPointer, at i: Int, end: Int) -> Int? {
        guard i + 2 < end, bytes[i + 1] == UInt8(ascii: "[") else { return nil }
        var j = i + 2
        while j < end, bytes[j] == UInt8(ascii: ";") || (bytes[j] >= UInt8(ascii: "0") && bytes[j] <= UInt8(ascii: "9")) { j += 1 }
        guard j < end, bytes[j] == UInt8(ascii: "m") else { return nil }
        j += 1
        if j + 3 <= end, bytes[j] == 0x1B, bytes[j + 1] == UInt8(ascii: "["), bytes[j + 2] == UInt8(ascii: "K") { j += 3 }
        return j - i
    }

    func checkLimit() throws {
        guard out.count <= limit else {
            throw KeyflareError.payloadTooLarge("the syslog frames in the body take more than \(limit) bytes as JSON events")
        }
    }
}
