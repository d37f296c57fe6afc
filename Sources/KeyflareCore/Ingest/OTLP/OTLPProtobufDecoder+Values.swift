/// The values inside log records, resources and scopes: strings, `KeyValue` lists and `AnyValue`.
extension OTLPProtobufDecoder {
    /// A string field (absent is `""`); one that cannot be stored sets `problem`.
    static func string(
        _ utf8: UnsafeRawBufferPointer?, into out: inout JSONWriter, problem: inout JSONText.Problem?
    ) throws {
        guard let utf8 else { return try out.raw("\"\"") }
        if let found = JSONText.check(utf8) {
            problem = problem ?? found
            return try out.raw("\"\"")
        }
        try out.string(utf8)
    }

    /// An object of the `repeated KeyValue` field `number` of a message: `{key: value, …}`. A key
    /// sent twice is written twice; `jsonb` keeps the last, as Logflare's `Map.new` does.
    static func attributes(
        _ number: UInt32, of message: UnsafeRawBufferPointer?, into out: inout JSONWriter, problem: inout JSONText.Problem?
    ) throws {
        try out.open(UInt8(ascii: "{"))
        var first = true
        try each(number, in: message) { keyValue in
            try out.comma(&first)
            try Self.keyValue(keyValue, into: &out, problem: &problem)
        }
        try out.close(UInt8(ascii: "}"))
    }

    /// `KeyValue { string key = 1; AnyValue value = 2; }` as an object member.
    static func keyValue(_ message: UnsafeRawBufferPointer, into out: inout JSONWriter, problem: inout JSONText.Problem?) throws {
        var key: UnsafeRawBufferPointer?
        var value: UnsafeRawBufferPointer?
        var reader = ProtobufReader(message)
        while let field = try reader.next() {
            switch (field.number, field.value) {
            case (1, .bytes(let bytes)): key = bytes
            case (2, .bytes(let bytes)): value = bytes
            default: break
            }
        }
        try string(key, into: &out, problem: &problem)
        try out.raw(":")
        try anyValue(value, into: &out, problem: &problem)
    }

    /// The `AnyValue` field that is set: the last one of its oneof, or nil when none is.
    static func oneof(_ message: UnsafeRawBufferPointer?) throws -> ProtobufReader.Field? {
        guard let message else { return nil }
        var set: ProtobufReader.Field?
        var reader = ProtobufReader(message)
        while let field = try reader.next() {
            switch (field.number, field.value) {
            case (1, .bytes), (2, .varint), (3, .varint), (4, .fixed64), (5, .bytes), (6, .bytes), (7, .bytes): set = field
            default: break
            }
        }
        return set
    }

    /// `AnyValue` as JSON: a string, a boolean, an integer, a number (`null` for NaN and the
    /// infinities), an array, an object (`kvlist_value`) or a base64 string (`bytes_value`); `null`
    /// when absent or unset.
    static func anyValue(_ message: UnsafeRawBufferPointer?, into out: inout JSONWriter, problem: inout JSONText.Problem?) throws {
        guard let field = try oneof(message) else { return try out.raw("null") }
        switch (field.number, field.value) {
        case (1, .bytes(let text)):
            try string(text, into: &out, problem: &problem)
        case (2, .varint(let value)):
            try out.raw(value != 0 ? "true" : "false")
        case (3, .varint(let value)):
            try out.integer(Int64(bitPattern: value))
        case (4, .fixed64(let bits)):
            try out.double(Double(bitPattern: bits))
        case (5, .bytes(let array)):
            // ArrayValue { repeated AnyValue values = 1; }
            try out.open(UInt8(ascii: "["))
            var first = true
            try each(1, in: array) { element in
                try out.comma(&first)
                try anyValue(element, into: &out, problem: &problem)
            }
            try out.close(UInt8(ascii: "]"))
        case (6, .bytes(let list)):
            // KeyValueList { repeated KeyValue values = 1; }
            try attributes(1, of: list, into: &out, problem: &problem)
        case (7, .bytes(let data)):
            try out.base64String(data)
        default:
            try out.raw("null")
        }
    }
}
