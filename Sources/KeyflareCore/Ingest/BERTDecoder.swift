/// Turns a BERT body (`application/bert`: one term in Erlang's external term format, as Logflare's
/// Elixir clients write it with Bertex, `:erlang.term_to_binary`) into JSON text for
/// `IngestBatch.parse`, which then validates it like any JSON body.
///
/// The body is hostile, so the decoder is bounded by construction: every length is checked against
/// the bytes left before anything is allocated or looped over, nesting stops at
/// `IngestScanner.maxDepth`, and the output stops with a 413 the moment it would pass its limit
/// (each input byte writes at most a few output bytes, so memory is O(limit)). Atoms are never
/// interned: their names are only copied out as text.
///
/// Terms map as Jason would encode what Elixir decodes: integers, bignums and floats become
/// numbers; binaries and atoms strings (`true`, `false` and `nil` become `true`, `false`, `null`);
/// maps objects; lists, charlists and tuples arrays. Bertex's own forms `{bert, true}`,
/// `{bert, false}`, `{bert, nil}` and `{bert, dict, [{Key, Value}, …]}` become what they stand for.
/// Pids, ports, references, funs, bit strings and compressed terms are refused with a 400.
public struct BERTDecoder {
    /// Most bytes of magnitude in one bignum: 1,024 (8,192 bits, up to 2,467 decimal digits, far
    /// below the 131,072 PostgreSQL's `numeric` holds); a longer one is a 400. Writing a bignum in
    /// decimal costs the square of its length, so the bound is what keeps a body of them cheap: one
    /// of the largest takes about 60 µs, and a 10 MiB body of nothing else reaches the 10 MiB output
    /// limit (its 413) in about 0.25 s on a 2-core machine, where 4 KiB bignums would take 1 s.
    public static let maxBignumBytes = 1024

    private let bytes: UnsafeRawBufferPointer
    private let limit: Int
    private var i = 0
    private var out: [UInt8] = []

    /// Decodes one BERT term (version byte 131 first, nothing after the term) into JSON text.
    /// - Parameters:
    ///   - body: the decompressed BERT bytes.
    ///   - limit: most bytes of JSON text written; one more is a 413 at once.
    /// - Returns: UTF-8 JSON text of at most `limit` bytes.
    public static func json(from body: UnsafeRawBufferPointer, limit: Int = IngestBatch.maxBodyBytes) throws -> [UInt8] {
        var decoder = BERTDecoder(bytes: body, limit: limit)
        try decoder.document()
        return decoder.out
    }

    private init(bytes: UnsafeRawBufferPointer, limit: Int) {
        self.bytes = bytes
        self.limit = limit
        // Most bodies write about as many bytes as they hold; the array grows past that if needed.
        out.reserveCapacity(max(0, min(limit, bytes.count + 16)))
    }

    // MARK: - Terms

    private mutating func document() throws {
        guard bytes.first == Self.version else {
            throw KeyflareError.badRequest("the BERT body does not start with version byte 131")
        }
        i = 1
        try value(depth: 1)
        guard i == bytes.count else { throw KeyflareError.badRequest("the BERT body has bytes after its term") }
    }

    /// Any term, written as one JSON value. Only the containers recurse, each one level deeper.
    private mutating func value(depth: Int) throws {
        let tag = try byte()
        switch tag {
        case Tag.smallInteger:
            try emit(decimal: UInt64(try byte()))
        case Tag.integer:
            let number = Int32(bitPattern: UInt32(try count32()))
            try emit(decimal: UInt64(number.magnitude), negative: number < 0)
        case Tag.smallBig:
            try bignum(count: Int(try byte()))
        case Tag.largeBig:
            try bignum(count: try count32())
        case Tag.newFloat, Tag.float:
            try float(tag)
        case Tag.atom, Tag.atomUTF8, Tag.smallAtom, Tag.smallAtomUTF8:
            let name = try atomName(tag)
            switch Self.literal(name) {
            case .some(let word): try emit(word)
            case nil: try atomString(name, tag)
            }
        case Tag.binary:
            try string(try take(try count32()), latin1: false, notUTF8: Self.binaryNotUTF8)
        case Tag.string:
            // A charlist: the list of its bytes, which is what the Erlang term is.
            let chars = try take(try count16())
            try enter(depth)
            try emit(UInt8(ascii: "["))
            for (k, c) in chars.enumerated() {
                if k > 0 { try emit(UInt8(ascii: ",")) }
                try emit(decimal: UInt64(c))
            }
            try emit(UInt8(ascii: "]"))
        case Tag.emptyList:
            try enter(depth)
            try emit("[]")
        case Tag.list:
            try list(count: try count32(), depth: depth)
        case Tag.map:
            let arity = try count32()
            // Each key and each value takes at least one byte.
            guard arity <= remaining / 2 else { throw Self.truncated }
            try enter(depth)
            try emit(UInt8(ascii: "{"))
            for k in 0..<arity {
                if k > 0 { try emit(UInt8(ascii: ",")) }
                try key()
                try emit(UInt8(ascii: ":"))
                try value(depth: depth + 1)
            }
            try emit(UInt8(ascii: "}"))
        case Tag.smallTuple:
            try tuple(arity: Int(try byte()), depth: depth)
        case Tag.largeTuple:
            try tuple(arity: try count32(), depth: depth)
        default:
            throw Self.unsupported(tag)
        }
    }

    /// A LIST_EXT after its count: the elements, then a tail that must be `[]` (a proper list).
    private mutating func list(count: Int, depth: Int) throws {
        // Each element takes at least one byte, and so does the tail.
        guard count < remaining else { throw Self.truncated }
        try enter(depth)
        try emit(UInt8(ascii: "["))
        for k in 0..<count {
            if k > 0 { try emit(UInt8(ascii: ",")) }
            try value(depth: depth + 1)
        }
        guard try byte() == Tag.emptyList else {
            throw KeyflareError.badRequest("the BERT body holds an improper list (its tail is not [])")
        }
        try emit(UInt8(ascii: "]"))
    }

    /// A tuple after its arity: one of Bertex's `{bert, …}` forms, else the array of its elements.
    private mutating func tuple(arity: Int, depth: Int) throws {
        guard arity <= remaining else { throw Self.truncated }
        // Bertex's forms are told apart by peeking at atoms only, so nothing has been written yet
        // when the tuple turns out to be a plain one.
        if arity == 2 || arity == 3, let first = atom(at: i), Self.equal(first.name, "bert"), let second = atom(at: first.end) {
            if arity == 2, let word = Self.literal(second.name) {
                i = second.end
                try emit(word)
                return
            }
            if arity == 3, Self.equal(second.name, "dict") {
                i = second.end
                try dict(depth: depth)
                return
            }
        }
        try enter(depth)
        try emit(UInt8(ascii: "["))
        for k in 0..<arity {
            if k > 0 { try emit(UInt8(ascii: ",")) }
            try value(depth: depth + 1)
        }
        try emit(UInt8(ascii: "]"))
    }

    /// The list of `{Key, Value}` pairs of a `{bert, dict, …}` tuple, written as an object.
    private mutating func dict(depth: Int) throws {
        let notPairs = KeyflareError.badRequest("a {bert, dict, …} term in the BERT body must hold a list of {key, value} pairs")
        let count: Int
        switch try byte() {
        case Tag.emptyList: count = 0
        case Tag.list: count = try count32()
        default: throw notPairs
        }
        // Each pair takes at least four bytes (tag, arity, key, value); the list's tail one more.
        guard count <= remaining / 4 else { throw Self.truncated }
        try enter(depth)
        try emit(UInt8(ascii: "{"))
        for k in 0..<count {
            if k > 0 { try emit(UInt8(ascii: ",")) }
            guard try byte() == Tag.smallTuple, try byte() == 2 else { throw notPairs }
            try key()
            try emit(UInt8(ascii: ":"))
            try value(depth: depth + 1)
        }
        if count > 0, try byte() != Tag.emptyList {
            throw KeyflareError.badRequest("the BERT body holds an improper list (its tail is not [])")
        }
        try emit(UInt8(ascii: "}"))
    }

    /// A map key, written as a JSON string: a binary or an atom as its text (`true` and `nil`
    /// included, as Jason writes atom keys), a number as its decimal text.
    private mutating func key() throws {
        guard i < bytes.count else { throw Self.truncated }
        let tag = bytes[i]
        switch tag {
        case Tag.binary:
            i += 1
            try string(try take(try count32()), latin1: false, notUTF8: Self.binaryNotUTF8)
        case Tag.atom, Tag.atomUTF8, Tag.smallAtom, Tag.smallAtomUTF8:
            i += 1
            try atomString(try atomName(tag), tag)
        case Tag.smallInteger, Tag.integer, Tag.smallBig, Tag.largeBig, Tag.newFloat, Tag.float:
            // Numbers never recurse and their text needs no escaping.
            try emit(UInt8(ascii: "\""))
            try value(depth: 0)
            try emit(UInt8(ascii: "\""))
        default:
            throw KeyflareError.badRequest(
                "a map key in the BERT body is not a binary, an atom or a number (BERT term tag \(tag))")
        }
    }

    private func enter(_ depth: Int) throws {
        guard depth <= IngestScanner.maxDepth else {
            throw KeyflareError.badRequest("the BERT body is nested deeper than \(IngestScanner.maxDepth) levels")
        }
    }

    // MARK: - Numbers

    /// A SMALL_BIG_EXT or LARGE_BIG_EXT after its digit count: a sign byte, then the magnitude in
    /// base 256, least significant byte first.
    private mutating func bignum(count: Int) throws {
        let sign = try byte()
        let digits = try take(count)
        guard count <= Self.maxBignumBytes else {
            throw KeyflareError.badRequest(
                "an integer in the BERT body is over \(Self.maxBignumBytes) bytes (\(Self.maxBignumBytes * 8) bits) long")
        }
        guard sign <= 1 else { throw KeyflareError.badRequest("an integer in the BERT body has an invalid sign byte") }
        var top = digits.count
        while top > 0, digits[top - 1] == 0 { top -= 1 }
        if top <= 8 {
            var magnitude: UInt64 = 0
            for k in stride(from: top - 1, through: 0, by: -1) { magnitude = magnitude << 8 | UInt64(digits[k]) }
            // Zero, even with the sign byte set, is written as 0.
            return try emit(decimal: magnitude, negative: sign == 1 && magnitude > 0)
        }
        if sign == 1 { try emit(UInt8(ascii: "-")) }
        // Schoolbook conversion: divide the 64-bit limbs by 10^19 until nothing is left, keeping
        // each remainder as nineteen decimal digits, least significant first. Both buffers are small
        // (at most 128 limbs and 130 chunks for the largest bignum), so they live on the stack.
        let limbCount = (top + 7) / 8
        try withUnsafeTemporaryAllocation(of: UInt64.self, capacity: limbCount) { limbs in
            limbs.initialize(repeating: 0)
            for k in 0..<top { limbs[k / 8] |= UInt64(digits[k]) << (8 * UInt64(k % 8)) }
            // A chunk of 19 digits holds more than 7.8 bytes, so there are at most top / 7 + 1.
            try withUnsafeTemporaryAllocation(of: UInt64.self, capacity: top / 7 + 2) { chunks in
                var chunkCount = 0
                var used = limbCount
                while used > 0 {
                    var remainder: UInt64 = 0
                    for j in stride(from: used - 1, through: 0, by: -1) {
                        // remainder < 10^19, so the quotient fits in 64 bits: this cannot trap.
                        (limbs[j], remainder) = Self.chunkBase.dividingFullWidth((remainder, limbs[j]))
                    }
                    chunks[chunkCount] = remainder
                    chunkCount += 1
                    while used > 0, limbs[used - 1] == 0 { used -= 1 }
                }
                try emit(decimal: chunks[chunkCount - 1])
                for k in stride(from: chunkCount - 2, through: 0, by: -1) {
                    try emit(decimal: chunks[k], width: 19)
                }
            }
        }
    }

    /// 10^19, the largest power of ten in a UInt64: the base the bignum conversion works in.
    private static let chunkBase: UInt64 = 10_000_000_000_000_000_000

    /// A NEW_FLOAT_EXT (8 bytes, IEEE 754 big-endian) or a FLOAT_EXT (31 bytes of `%.20e` text,
    /// padded with NULs). Either is written as Swift writes a `Double`, which reads back to the same
    /// value and is valid JSON (`1e+20`, `5e-324`, `-0.0`).
    private mutating func float(_ tag: UInt8) throws {
        let number: Double
        if tag == Tag.newFloat {
            var bits: UInt64 = 0
            for b in try take(8) { bits = bits << 8 | UInt64(b) }
            number = Double(bitPattern: bits)
        } else {
            let field = try take(31)
            let text = UnsafeRawBufferPointer(rebasing: field[0..<(field.firstIndex(of: 0) ?? field.count)])
            // Only digits, a point, an exponent and signs: no "inf", "nan", hex or spaces.
            let allowed = text.allSatisfy { c in
                (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) || c == UInt8(ascii: ".") || c == UInt8(ascii: "e")
                    || c == UInt8(ascii: "E") || c == UInt8(ascii: "+") || c == UInt8(ascii: "-")
            }
            guard allowed, let parsed = Double(String(decoding: text, as: UTF8.self)) else {
                throw KeyflareError.badRequest("a float in the BERT body (FLOAT_EXT) is not a number")
            }
            number = parsed
        }
        guard number.isFinite else { throw KeyflareError.badRequest("a float in the BERT body is not finite (NaN or infinity)") }
        var text = number.description
        try text.withUTF8 { try emit(UnsafeRawBufferPointer($0)) }
    }

    // MARK: - Atoms and strings

    /// `true`, `false` and `nil` (Elixir's nil) as JSON literals; any other atom is a string.
    private static func literal(_ name: UnsafeRawBufferPointer) -> StaticString? {
        if equal(name, "true") { return "true" }
        if equal(name, "false") { return "false" }
        if equal(name, "nil") { return "null" }
        return nil
    }

    /// The name of an atom whose tag was just read.
    private mutating func atomName(_ tag: UInt8) throws -> UnsafeRawBufferPointer {
        let count = tag == Tag.smallAtom || tag == Tag.smallAtomUTF8 ? Int(try byte()) : try count16()
        return try take(count)
    }

    /// The atom starting at `position`, if one is there in full (for peeking; moves nothing).
    private func atom(at position: Int) -> (name: UnsafeRawBufferPointer, end: Int)? {
        guard position < bytes.count else { return nil }
        let tag = bytes[position]
        var start = position + 1
        var count = 0
        switch tag {
        case Tag.smallAtom, Tag.smallAtomUTF8:
            guard start + 1 <= bytes.count else { return nil }
            count = Int(bytes[start])
            start += 1
        case Tag.atom, Tag.atomUTF8:
            guard start + 2 <= bytes.count else { return nil }
            count = Int(bytes[start]) << 8 | Int(bytes[start + 1])
            start += 2
        default:
            return nil
        }
        guard count <= bytes.count - start else { return nil }
        return (UnsafeRawBufferPointer(rebasing: bytes[start..<start + count]), start + count)
    }

    /// An atom's name as a JSON string: ATOM_EXT and SMALL_ATOM_EXT names are Latin-1, the others UTF-8.
    private mutating func atomString(_ name: UnsafeRawBufferPointer, _ tag: UInt8) throws {
        try string(name, latin1: tag == Tag.atom || tag == Tag.smallAtom, notUTF8: Self.atomNotUTF8)
    }

    private static func equal(_ bytes: UnsafeRawBufferPointer, _ word: StaticString) -> Bool {
        bytes.count == word.utf8CodeUnitCount && (0..<bytes.count).allSatisfy { bytes[$0] == word.utf8Start[$0] }
    }

    /// Writes `text` as a JSON string: UTF-8 (validated, else a 400) or Latin-1 (converted).
    /// Runs of bytes that need no escape are copied at once.
    private mutating func string(_ text: UnsafeRawBufferPointer, latin1: Bool, notUTF8: KeyflareError) throws {
        try emit(UInt8(ascii: "\""))
        var run = 0
        var k = 0
        while k < text.count {
            let c = text[k]
            if c >= 0x80 {
                if latin1 {
                    try emit(UnsafeRawBufferPointer(rebasing: text[run..<k]))
                    try emit(0xC0 | c >> 6)
                    try emit(0x80 | c & 0x3F)
                    k += 1
                    run = k
                } else {
                    guard let length = Self.utf8Length(text, at: k) else { throw notUTF8 }
                    k += length
                }
                continue
            }
            let escape: UInt8?
            switch c {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): escape = c
            case 0x0A: escape = UInt8(ascii: "n")
            case 0x0D: escape = UInt8(ascii: "r")
            case 0x09: escape = UInt8(ascii: "t")
            case 0x08: escape = UInt8(ascii: "b")
            case 0x0C: escape = UInt8(ascii: "f")
            case 0x00..<0x20: escape = 0  // \u00XX
            default:
                k += 1
                continue
            }
            try emit(UnsafeRawBufferPointer(rebasing: text[run..<k]))
            try emit(UInt8(ascii: "\\"))
            if let escape, escape != 0 {
                try emit(escape)
            } else {
                let hex: StaticString = "0123456789abcdef"
                try emit("u00")
                try emit(hex.utf8Start[Int(c >> 4)])
                try emit(hex.utf8Start[Int(c & 0xF)])
            }
            k += 1
            run = k
        }
        try emit(UnsafeRawBufferPointer(rebasing: text[run..<k]))
        try emit(UInt8(ascii: "\""))
    }

    private static let binaryNotUTF8 = KeyflareError.badRequest("a binary in the BERT body is not UTF-8")
    private static let atomNotUTF8 = KeyflareError.badRequest("an atom in the BERT body is not UTF-8")

    /// The length of the UTF-8 sequence that starts at `k` with a byte of 0x80 or more, or nil for
    /// overlong forms, surrogates and values past U+10FFFF (RFC 3629), as `IngestScanner` refuses.
    private static func utf8Length(_ text: UnsafeRawBufferPointer, at k: Int) -> Int? {
        let count: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch text[k] {
        case 0xC2...0xDF: count = 2
        case 0xE0: count = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: count = 3
        case 0xED: count = 3; high = 0x9F
        case 0xF0: count = 4; low = 0x90
        case 0xF1...0xF3: count = 4
        case 0xF4: count = 4; high = 0x8F
        default: return nil
        }
        guard count <= text.count - k, text[k + 1] >= low, text[k + 1] <= high else { return nil }
        for j in 2..<count where text[k + j] & 0xC0 != 0x80 { return nil }
        return count
    }

    // MARK: - Bytes in, bytes out

    private var remaining: Int { bytes.count - i }

    private mutating func byte() throws -> UInt8 {
        guard i < bytes.count else { throw Self.truncated }
        defer { i += 1 }
        return bytes[i]
    }

    private mutating func count16() throws -> Int {
        let bytes = try take(2)
        return Int(bytes[0]) << 8 | Int(bytes[1])
    }

    /// A 4-byte big-endian length or count (unsigned, so at most 2^32 - 1: an Int holds it).
    private mutating func count32() throws -> Int {
        var value = 0
        for b in try take(4) { value = value << 8 | Int(b) }
        return value
    }

    /// The next `count` bytes, checked against what is left before anything else happens.
    private mutating func take(_ count: Int) throws -> UnsafeRawBufferPointer {
        guard count <= remaining else { throw Self.truncated }
        defer { i += count }
        return UnsafeRawBufferPointer(rebasing: bytes[i..<i + count])
    }

    private mutating func emit(_ byte: UInt8) throws {
        guard out.count < limit else { throw tooLarge }
        out.append(byte)
    }

    private mutating func emit(_ word: StaticString) throws {
        try emit(UnsafeRawBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount))
    }

    private mutating func emit(_ chunk: UnsafeRawBufferPointer) throws {
        guard chunk.count <= limit - out.count else { throw tooLarge }
        out.append(contentsOf: chunk)
    }

    /// Writes `value` in decimal, `-` first when `negative`, zero-padded to `width` digits.
    private mutating func emit(decimal value: UInt64, negative: Bool = false, width: Int = 1) throws {
        // 20 digits hold any UInt64; the sign takes one more.
        try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 21) { buffer in
            var start = 21
            var rest = value
            repeat {
                start -= 1
                buffer[start] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
            } while rest > 0 || 21 - start < min(width, 20)
            if negative {
                start -= 1
                buffer[start] = UInt8(ascii: "-")
            }
            try emit(UnsafeRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(buffer)[start..<21]))
        }
    }

    private var tooLarge: KeyflareError {
        let size = limit > 0 && limit % (1024 * 1024) == 0 ? "\(limit / 1024 / 1024) MiB" : "\(limit) bytes"
        return KeyflareError.payloadTooLarge("the BERT body, written as JSON, is over \(size)")
    }

    private static let truncated = KeyflareError.badRequest("the BERT body is truncated")

    // MARK: - Tags

    /// The external term format's version, the body's first byte.
    private static let version: UInt8 = 131

    /// The external term format's tags this decoder reads.
    private enum Tag {
        static let newFloat: UInt8 = 70
        static let smallInteger: UInt8 = 97
        static let integer: UInt8 = 98
        static let float: UInt8 = 99
        static let atom: UInt8 = 100
        static let smallTuple: UInt8 = 104
        static let largeTuple: UInt8 = 105
        /// NIL_EXT, the empty list `[]`.
        static let emptyList: UInt8 = 106
        static let string: UInt8 = 107
        static let list: UInt8 = 108
        static let binary: UInt8 = 109
        static let smallBig: UInt8 = 110
        static let largeBig: UInt8 = 111
        static let smallAtom: UInt8 = 115
        static let map: UInt8 = 116
        static let atomUTF8: UInt8 = 118
        static let smallAtomUTF8: UInt8 = 119
    }

    /// A tag this decoder does not read: named when it is a real term type, so a client knows what
    /// to send instead.
    private static func unsupported(_ tag: UInt8) -> KeyflareError {
        let names: [UInt8: String] = [
            68: "distribution header", 77: "bit binary", 80: "compressed term", 82: "atom cache reference",
            88: "PID", 89: "port", 90: "reference", 101: "reference", 102: "port", 103: "PID", 112: "fun",
            113: "export", 114: "reference", 117: "fun", 120: "port", 121: "local",
        ]
        guard let name = names[tag] else { return KeyflareError.badRequest("BERT term tag \(tag) is not a known term type") }
        return KeyflareError.badRequest("BERT term tag \(tag) (\(name)) is not supported")
    }
}
