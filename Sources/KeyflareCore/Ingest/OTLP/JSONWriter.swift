/// Writes JSON text into a byte buffer with the ingest pipeline's limits built in: a ceiling on
/// its size (413 the moment it would be crossed), a ceiling on nesting (400), and the same count of
/// how much its numbers grow when PostgreSQL writes them out as `IngestScanner` keeps, so that what
/// it writes is never refused by `IngestBatch.parse` for a reason it could have seen first.
///
/// Strings it is given are already valid UTF-8 without NUL (see `JSONText`); it only escapes them.
struct JSONWriter {
    /// The text written so far (appended to only by the writer's methods, here and in
    /// `JSONWriter+Values.swift`).
    var bytes: [UInt8] = []
    /// Most bytes `bytes` may hold.
    let limit: Int
    /// How deep the next container opens (the root array of events is 1).
    private(set) var depth: Int
    /// Bytes the numbers written gain as `numeric` text (`IngestScanner`'s count).
    var expansion = 0

    /// A point to go back to, to drop what was written after it.
    struct Mark {
        fileprivate var count: Int
        fileprivate var expansion: Int
        fileprivate var depth: Int
    }

    /// - Parameters:
    ///   - limit: most bytes; writing past it is a 413.
    ///   - depth: the nesting the text starts at, when it is a part of a larger text (0 for a root).
    ///   - capacity: bytes to allocate at once (one allocation, not one per doubling, for the many
    ///     small resource and scope objects a body can hold).
    init(limit: Int, depth: Int = 0, capacity: Int = 0) {
        self.limit = limit
        self.depth = depth
        bytes.reserveCapacity(min(capacity, limit))
    }

    /// Where the text is now.
    var mark: Mark { Mark(count: bytes.count, expansion: expansion, depth: depth) }

    /// Drops everything written after `mark`.
    mutating func rollBack(to mark: Mark) {
        bytes.removeSubrange(mark.count...)
        expansion = mark.expansion
        depth = mark.depth
    }

    /// Makes room for `count` more bytes, or refuses with a 413.
    func ensure(_ count: Int) throws {
        guard count <= limit - bytes.count else {
            throw KeyflareError.payloadTooLarge(
                "the log records, as JSON events, would take more than "
                    + (limit >= IngestBatch.maxBodyBytes ? "10 MiB" : "\(limit) bytes (64 times the body)") + "; send fewer per request")
        }
    }

    /// ASCII punctuation or a member name that needs no escaping, such as `,"body":`.
    mutating func raw(_ text: StaticString) throws {
        try ensure(text.utf8CodeUnitCount)
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Another writer's text (a resource or scope object written once for many events).
    mutating func append(_ other: JSONWriter) throws {
        try ensure(other.bytes.count)
        bytes.append(contentsOf: other.bytes)
        expansion += other.expansion
        try checkExpansion()
    }

    /// Bytes copied from what this writer already holds (a string written once, needed twice).
    mutating func appendCopy(of range: Range<Int>) throws {
        try ensure(range.count)
        bytes.append(contentsOf: bytes[range])
    }

    /// Moves the bytes from `from` to the end in front of those from `to` (a key that came after
    /// its value); both are marks taken by this writer, `to` before `from`.
    mutating func moveTail(from: Int, before to: Int) {
        let tail = Array(bytes[from...])
        bytes.removeSubrange(from...)
        bytes.insert(contentsOf: tail, at: to)
    }

    /// `{` or `[`, one level deeper.
    mutating func open(_ bracket: UInt8) throws {
        depth += 1
        guard depth <= IngestScanner.maxDepth else {
            throw KeyflareError.badRequest(
                "a value in the log records is nested too deep: an event may nest at most \(IngestScanner.maxDepth) levels")
        }
        try ensure(1)
        bytes.append(bracket)
    }

    /// `}` or `]`, one level up.
    mutating func close(_ bracket: UInt8) throws {
        depth -= 1
        try ensure(1)
        bytes.append(bracket)
    }

    /// A `,` before every element but the first.
    mutating func comma(_ first: inout Bool) throws {
        if first { first = false } else { try raw(",") }
    }

    // MARK: - Strings

    /// A JSON string of bytes that `JSONText.check` has passed.
    mutating func string(_ utf8: UnsafeRawBufferPointer) throws {
        var length = 2
        for byte in utf8 { length += JSONText.escapedLength(byte) }
        try ensure(length)
        bytes.append(UInt8(ascii: "\""))
        for byte in utf8 { escape(byte) }
        bytes.append(UInt8(ascii: "\""))
    }

    /// One Unicode scalar of a string being written piece by piece (the quotes are `raw`).
    mutating func scalar(_ value: UInt32) throws {
        if value < 0x80 {
            try ensure(JSONText.escapedLength(UInt8(value)))
            escape(UInt8(value))
            return
        }
        try ensure(4)
        if value < 0x800 {
            bytes.append(UInt8(0xC0 | value >> 6))
        } else if value < 0x10000 {
            bytes.append(UInt8(0xE0 | value >> 12))
            bytes.append(UInt8(0x80 | (value >> 6) & 0x3F))
        } else {
            bytes.append(UInt8(0xF0 | (value >> 18) & 0x07))
            bytes.append(UInt8(0x80 | (value >> 12) & 0x3F))
            bytes.append(UInt8(0x80 | (value >> 6) & 0x3F))
        }
        bytes.append(UInt8(0x80 | value & 0x3F))
    }

    /// Bytes copied as they are into a string being written piece by piece: valid UTF-8 that
    /// needs no escape (no controls, `"` or `\\`).
    mutating func verbatim(_ utf8: UnsafeRawBufferPointer) throws {
        try ensure(utf8.count)
        bytes.append(contentsOf: utf8)
    }

    private mutating func escape(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""): bytes.append(contentsOf: [0x5C, 0x22])
        case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5C, 0x5C])
        case 0x0A: bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
        case 0x0D: bytes.append(contentsOf: [0x5C, UInt8(ascii: "r")])
        case 0x09: bytes.append(contentsOf: [0x5C, UInt8(ascii: "t")])
        case 0x00..<0x20:
            bytes.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, Self.hexDigits[Int(byte >> 4)], Self.hexDigits[Int(byte & 0xF)]])
        default: bytes.append(byte)
        }
    }

    static let hexDigits = Array("0123456789abcdef".utf8)
}
