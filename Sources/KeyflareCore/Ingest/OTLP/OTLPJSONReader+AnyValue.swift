/// `AnyValue` and lists of `KeyValue` in OTLP JSON, written as the JSON values they stand for:
/// `{"stringValue": "a"}` as `"a"`, `{"kvlistValue": {"values": [{"key": "k", …}]}}` as an object.
/// A string that cannot be stored sets `problem` (the record is dropped); anything else wrong is a 400.
extension OTLPJSONReader {
    /// An `AnyValue` object as its JSON value (`null` when none of its fields is set); true when
    /// it is a string.
    mutating func anyValue(depth: Int, into out: inout JSONWriter, problem: inout JSONText.Problem?) throws -> Bool {
        if try null() {
            try out.raw("null")
            return false
        }
        try beginObject(depth: depth, "an AnyValue")
        var first = true
        var set = false
        var isString = false
        while let name = try nextMember(&first) {
            switch name {
            case .stringValue, .boolValue, .intValue, .doubleValue, .arrayValue, .kvlistValue, .bytesValue:
                if try null() { continue }
                guard !set else { throw KeyflareError.badRequest("an AnyValue sets more than one of its values") }
                set = true
                switch name {
                case .stringValue:
                    try string(into: &out, "stringValue", problem: &problem)
                    isString = true
                case .boolValue:
                    guard let value = try bool() else { throw KeyflareError.badRequest("\"boolValue\" must be true or false") }
                    try out.raw(value ? "true" : "false")
                case .intValue:
                    try out.integer(try int64("intValue"))
                case .doubleValue:
                    try out.double(try double("doubleValue"))
                case .arrayValue:
                    try arrayValue(depth: depth + 1, into: &out, problem: &problem)
                case .kvlistValue:
                    try kvlistValue(depth: depth + 1, into: &out, problem: &problem)
                default:
                    try base64(into: &out)
                }
            default:
                try skip(depth: depth + 1)
            }
        }
        if !set { try out.raw("null") }
        return isString
    }

    /// `{"values": [AnyValue, …]}` as an array.
    private mutating func arrayValue(depth: Int, into out: inout JSONWriter, problem: inout JSONText.Problem?) throws {
        try beginObject(depth: depth, "\"arrayValue\"")
        try out.open(UInt8(ascii: "["))
        var first = true
        var seen = OTLPJSONSeen()
        while let name = try nextMember(&first) {
            guard name == .values else {
                try skip(depth: depth + 1)
                continue
            }
            try seen.once(name)
            if try null() { continue }
            try beginArray(depth: depth + 1, "\"values\"")
            var firstElement = true
            var firstOut = true
            while try nextElement(&firstElement) {
                try out.comma(&firstOut)
                _ = try anyValue(depth: depth + 2, into: &out, problem: &problem)
            }
        }
        try out.close(UInt8(ascii: "]"))
    }

    /// `{"values": [KeyValue, …]}` as an object.
    private mutating func kvlistValue(depth: Int, into out: inout JSONWriter, problem: inout JSONText.Problem?) throws {
        try beginObject(depth: depth, "\"kvlistValue\"")
        var first = true
        var seen = OTLPJSONSeen()
        while let name = try nextMember(&first) {
            guard name == .values else {
                try skip(depth: depth + 1)
                continue
            }
            try seen.once(name)
            try attributes(depth: depth + 1, into: &out, problem: &problem)
        }
        if !seen.contains(.values) {
            try out.open(UInt8(ascii: "{"))
            try out.close(UInt8(ascii: "}"))
        }
    }

    /// A `[KeyValue, …]` array (or `null`) as an object. A key sent twice is written twice;
    /// `jsonb` keeps the last, as Logflare's `Map.new` does.
    mutating func attributes(depth: Int, into out: inout JSONWriter, problem: inout JSONText.Problem?) throws {
        try out.open(UInt8(ascii: "{"))
        if try !null() {
            try beginArray(depth: depth, "a list of KeyValue")
            var first = true
            var firstOut = true
            while try nextElement(&first) {
                try out.comma(&firstOut)
                try keyValue(depth: depth + 1, into: &out, problem: &problem)
            }
        }
        try out.close(UInt8(ascii: "}"))
    }

    /// `{"key": …, "value": AnyValue}` as an object member; the key goes first even when it is
    /// sent last.
    private mutating func keyValue(depth: Int, into out: inout JSONWriter, problem: inout JSONText.Problem?) throws {
        try beginObject(depth: depth, "a KeyValue")
        let start = out.bytes.count
        var first = true
        var seen = OTLPJSONSeen()
        while let name = try nextMember(&first) {
            switch name {
            case .key:
                try seen.once(name)
                let keyStart = out.bytes.count
                try string(into: &out, "key", problem: &problem)
                try out.raw(":")
                if seen.contains(.value) { out.moveTail(from: keyStart, before: start) }
            case .value:
                try seen.once(name)
                _ = try anyValue(depth: depth + 1, into: &out, problem: &problem)
            default:
                try skip(depth: depth + 1)
            }
        }
        if !seen.contains(.key) {
            let keyStart = out.bytes.count
            try out.raw("\"\":")
            if seen.contains(.value) { out.moveTail(from: keyStart, before: start) }
        }
        if !seen.contains(.value) { try out.raw("null") }
    }
}
