/// Reads the fields of one protobuf message, in order, from the wire format
/// (https://protobuf.dev/programming-guides/encoding/), checking each length against the bytes
/// that remain before using it. It never copies: a length-delimited value is a slice of the body.
///
/// Groups (wire types 3 and 4) are refused, as are the undefined wire types 6 and 7 and field
/// number 0: no OTLP message uses them, and a reader cannot skip a group without recursing.
struct ProtobufReader {
    /// A field's value, by wire type.
    enum Value {
        /// Wire type 0.
        case varint(UInt64)
        /// Wire type 1 (`fixed64`, `sfixed64`, `double`).
        case fixed64(UInt64)
        /// Wire type 2 (strings, bytes, embedded messages): the value's bytes.
        case bytes(UnsafeRawBufferPointer)
        /// Wire type 5 (`fixed32`, `sfixed32`, `float`).
        case fixed32(UInt32)
    }

    /// One field: its number and value.
    struct Field {
        var number: UInt32
        var value: Value
    }

    private let bytes: UnsafeRawBufferPointer
    private var i = 0

    /// A reader over one message's bytes.
    /// - Parameters:
    ///   - bytes: the message, without its own tag or length.
    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// The next field, or nil at the end of the message.
    mutating func next() throws -> Field? {
        guard i < bytes.count else { return nil }
        let tag = try varint()
        let number = tag >> 3
        guard number >= 1, number <= 0x1FFF_FFFF else { throw Self.malformed("a field number is 0 or past 2^29-1") }
        switch tag & 7 {
        case 0:
            return Field(number: UInt32(number), value: .varint(try varint()))
        case 1:
            return Field(number: UInt32(number), value: .fixed64(try fixed(8)))
        case 2:
            let length = try varint()
            // Compared as unsigned, so a length of 2^63 or more cannot wrap into a small Int.
            guard length <= UInt64(bytes.count - i) else { throw Self.malformed("a length runs past the end of its message") }
            let start = i
            i += Int(length)
            return Field(number: UInt32(number), value: .bytes(UnsafeRawBufferPointer(rebasing: bytes[start..<i])))
        case 5:
            return Field(number: UInt32(number), value: .fixed32(UInt32(truncatingIfNeeded: try fixed(4))))
        case 3, 4:
            throw Self.malformed("it uses groups (wire types 3 and 4), which OTLP does not")
        default:
            throw Self.malformed("it uses an undefined wire type (6 or 7)")
        }
    }

    /// A base-128 varint of at most 10 bytes; bits past 64 are refused.
    private mutating func varint() throws -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard i < bytes.count else { throw Self.malformed("it is truncated") }
            let byte = bytes[i]
            i += 1
            if shift == 63, byte > 1 { throw Self.malformed("a varint is longer than 64 bits") }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
    }

    /// A little-endian fixed-width value of `count` bytes.
    private mutating func fixed(_ count: Int) throws -> UInt64 {
        guard bytes.count - i >= count else { throw Self.malformed("it is truncated") }
        var value: UInt64 = 0
        for k in 0..<count { value |= UInt64(bytes[i + k]) << (8 * UInt64(k)) }
        i += count
        return value
    }

    /// The 400 for a body that is not a readable protobuf message.
    static func malformed(_ reason: String) -> KeyflareError {
        .badRequest("the body is not a valid OTLP protobuf message: \(reason)")
    }
}
