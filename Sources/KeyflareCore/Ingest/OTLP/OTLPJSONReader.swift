/// A pull reader over JSON text, for the OTLP JSON decoder: it hands out object members and array
/// elements one at a time and decodes strings scalar by scalar, so that the decoder can write
/// events as it reads and never builds a tree. What it skips it still validates, as
/// `IngestScanner` does: grammar, UTF-8 and nesting.
struct OTLPJSONReader {
    /// The body.
    let bytes: UnsafeRawBufferPointer
    /// Where the next token starts; the decoder may come back to a position it saw.
    var position = 0
    /// A member name being read, reused.
    private var name: [UInt8] = []

    /// - Parameters:
    ///   - bytes: the body.
    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    static let invalid = KeyflareError.badRequest("the body is not valid JSON")
    static let notUTF8 = KeyflareError.badRequest("the body is not valid UTF-8")

    /// Whether only whitespace is left.
    mutating func atEnd() -> Bool {
        skipWhitespace()
        return position == bytes.count
    }

    /// The next non-whitespace byte, not consumed.
    mutating func peek() -> UInt8? {
        skipWhitespace()
        return position < bytes.count ? bytes[position] : nil
    }

    /// Consumes `null` if it comes next.
    mutating func null() throws -> Bool {
        guard peek() == UInt8(ascii: "n") else { return false }
        try literal("null")
        return true
    }

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    private mutating func literal(_ word: StaticString) throws {
        let count = word.utf8CodeUnitCount
        guard bytes.count - position >= count else { throw Self.invalid }
        for k in 0..<count where bytes[position + k] != word.utf8Start[k] { throw Self.invalid }
        position += count
    }

    private mutating func expect(_ byte: UInt8) throws {
        guard peek() == byte else { throw Self.invalid }
        position += 1
    }

    private static func enter(_ depth: Int) throws {
        guard depth <= IngestScanner.maxDepth else {
            throw KeyflareError.badRequest("the body is nested deeper than \(IngestScanner.maxDepth) levels")
        }
    }

    // MARK: - Structure

    /// Consumes the `{` of an object at `depth` (the root is 1); `what` names it in the 400 for
    /// another value.
    mutating func beginObject(depth: Int, _ what: @autoclosure () -> String) throws {
        guard peek() == UInt8(ascii: "{") else { throw KeyflareError.badRequest("\(what()) must be a JSON object") }
        try Self.enter(depth)
        position += 1
    }

    /// The next member's name, with the reader at its value, or nil at the object's end.
    /// - Parameters:
    ///   - first: true until the first call; kept by the caller, one per object.
    mutating func nextMember(_ first: inout Bool) throws -> OTLPJSONName? {
        if peek() == UInt8(ascii: "}") {
            position += 1
            return nil
        }
        if first { first = false } else { try expect(UInt8(ascii: ",")) }
        guard peek() == UInt8(ascii: "\"") else { throw Self.invalid }
        position += 1
        // Every OTLP field name is ASCII; longer names than theirs are read but not kept.
        name.removeAll(keepingCapacity: true)
        var long = false
        var problem: JSONText.Problem?
        while true {
            let run = plainRun()
            if name.count + run.count <= OTLPJSONName.longest { name.append(contentsOf: run) } else { long = true }
            guard let scalar = try stringScalar(&problem) else { break }
            if name.count < OTLPJSONName.longest { name.append(scalar < 0x80 ? UInt8(scalar) : 0xFF) } else { long = true }
        }
        try expect(UInt8(ascii: ":"))
        _ = peek()
        return long ? .other : OTLPJSONName(utf8: name)
    }

    /// Consumes the `[` of an array at `depth`.
    mutating func beginArray(depth: Int, _ what: @autoclosure () -> String) throws {
        guard peek() == UInt8(ascii: "[") else { throw KeyflareError.badRequest("\(what()) must be a JSON array") }
        try Self.enter(depth)
        position += 1
    }

    /// Whether another element follows, with the reader at it; false at the array's end.
    /// - Parameters:
    ///   - first: true until the first call; kept by the caller, one per array.
    mutating func nextElement(_ first: inout Bool) throws -> Bool {
        if peek() == UInt8(ascii: "]") {
            position += 1
            return false
        }
        if first { first = false } else { try expect(UInt8(ascii: ",")) }
        _ = peek()
        return true
    }

    /// Skips any value, validating it.
    mutating func skip(depth: Int) throws {
        guard let c = peek() else { throw Self.invalid }
        var first = true
        switch c {
        case UInt8(ascii: "{"):
            try beginObject(depth: depth, "")
            while try nextMember(&first) != nil { try skip(depth: depth + 1) }
        case UInt8(ascii: "["):
            try beginArray(depth: depth, "")
            while try nextElement(&first) { try skip(depth: depth + 1) }
        case UInt8(ascii: "\""):
            position += 1
            var problem: JSONText.Problem?
            repeat { _ = plainRun() } while try stringScalar(&problem) != nil
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: _ = try number()
        }
    }

    // MARK: - Scalars

    /// A `true` or `false`.
    mutating func bool() throws -> Bool? {
        switch peek() {
        case UInt8(ascii: "t"): try literal("true"); return true
        case UInt8(ascii: "f"): try literal("false"); return false
        default: return nil
        }
    }

    /// A number token, `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, as its bytes.
    mutating func number() throws -> UnsafeRawBufferPointer {
        _ = peek()
        let start = position
        func digits() -> Int {
            let from = position
            while position < bytes.count, bytes[position] >= UInt8(ascii: "0"), bytes[position] <= UInt8(ascii: "9") { position += 1 }
            return position - from
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "-") { position += 1 }
        if position < bytes.count, bytes[position] == UInt8(ascii: "0") {
            position += 1
        } else {
            guard digits() > 0 else { throw Self.invalid }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard digits() > 0 else { throw Self.invalid }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard digits() > 0 else { throw Self.invalid }
        }
        return UnsafeRawBufferPointer(rebasing: bytes[start..<position])
    }
}
