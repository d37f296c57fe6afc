/// Walks an `ExportLogsServiceRequest` in the OTLP JSON encoding and writes one event per log
/// record as it reads, building no tree (`JSONSerialization` built 3.8 GB of objects for 10 MiB).
///
/// Members may come in any order. A resource or scope is needed before its records, so each
/// `ResourceLogs` and `ScopeLogs` object is read twice: once for its resource or scope, skipping
/// the rest, then for its records. Everything deeper is read once, so the body is read at most
/// three times; memory is the events' text, bounded at 10 MiB, plus one resource and one scope.
/// `null` for a field is its default, unknown fields are skipped, and a field sent twice is a 400,
/// as in protobuf's JSON parsers.
struct OTLPJSONDecoder {
    var reader: OTLPJSONReader
    var events: OTLPEvents

    /// Decodes a request body.
    static func decode(_ body: UnsafeRawBufferPointer, limit: Int) throws -> OTLPLogs.Decoded {
        guard body.count <= IngestBatch.maxBodyBytes else {
            throw KeyflareError.payloadTooLarge("the request body is over \(IngestBatch.maxBodyBytes / 1024 / 1024) MiB")
        }
        var decoder = OTLPJSONDecoder(reader: OTLPJSONReader(body), events: try OTLPEvents(limit: limit))
        try decoder.request()
        return try decoder.events.finish()
    }

    /// `{"resourceLogs": [ResourceLogs, …]}`
    private mutating func request() throws {
        guard reader.peek() != nil else { throw OTLPJSONReader.invalid }
        try reader.beginObject(depth: 1, "the body (an ExportLogsServiceRequest)")
        var first = true
        var seen = OTLPJSONSeen()
        while let name = try reader.nextMember(&first) {
            guard name == .resourceLogs else {
                try reader.skip(depth: 2)
                continue
            }
            try seen.once(name)
            try each(depth: 2, "resourceLogs") { decoder in try decoder.resourceLogs(depth: 3) }
        }
        guard reader.atEnd() else { throw OTLPJSONReader.invalid }
    }

    /// Calls `element` for each element of an array (or none, for `null`) at `depth`.
    mutating func each(depth: Int, _ what: String, _ element: (inout OTLPJSONDecoder) throws -> Void) throws {
        if try reader.null() { return }
        try reader.beginArray(depth: depth, "\"\(what)\"")
        var first = true
        while try reader.nextElement(&first) { try element(&self) }
    }

    /// Reads an object's members once for `pick`, skipping the others, then goes back to its start.
    private mutating func lookAhead(depth: Int, _ what: String, for pick: OTLPJSONName, _ read: (inout OTLPJSONDecoder) throws -> Void) throws {
        let start = reader.position
        try reader.beginObject(depth: depth, what)
        var first = true
        var seen = OTLPJSONSeen()
        while let name = try reader.nextMember(&first) {
            if name == pick {
                try seen.once(name)
                try read(&self)
            } else {
                try reader.skip(depth: depth + 1)
            }
        }
        reader.position = start
    }

    /// `{"resource": {"attributes": [KeyValue, …]}, "scopeLogs": [ScopeLogs, …]}`
    private mutating func resourceLogs(depth: Int) throws {
        var resource = JSONWriter(limit: events.out.limit, depth: 2, capacity: 256)
        var problem: JSONText.Problem?
        try lookAhead(depth: depth, "a ResourceLogs", for: .resource) { decoder in
            guard try !decoder.reader.null() else { return }
            // Resource { attributes = 1; }
            try decoder.reader.beginObject(depth: depth + 1, "\"resource\"")
            var first = true
            var seen = OTLPJSONSeen()
            while let name = try decoder.reader.nextMember(&first) {
                guard name == .attributes else {
                    try decoder.reader.skip(depth: depth + 2)
                    continue
                }
                try seen.once(name)
                try decoder.reader.attributes(depth: depth + 2, into: &resource, problem: &problem)
            }
        }
        if resource.bytes.isEmpty { try resource.raw("{}") }
        try reader.beginObject(depth: depth, "a ResourceLogs")
        var first = true
        var seen = OTLPJSONSeen()
        while let name = try reader.nextMember(&first) {
            guard name == .scopeLogs else {
                try reader.skip(depth: depth + 1)
                continue
            }
            try seen.once(name)
            try each(depth: depth + 1, "scopeLogs") { decoder in
                try decoder.scopeLogs(depth: depth + 2, resource: resource, problem: problem)
            }
        }
    }

    /// `{"scope": {"name", "version", "attributes"}, "logRecords": [LogRecord, …]}`
    private mutating func scopeLogs(depth: Int, resource: JSONWriter, problem: JSONText.Problem?) throws {
        var scope = JSONWriter(limit: events.out.limit, depth: 2, capacity: 256)
        var problem = problem
        try lookAhead(depth: depth, "a ScopeLogs", for: .scope) { decoder in
            try decoder.scope(depth: depth + 1, into: &scope, problem: &problem)
        }
        if scope.bytes.isEmpty { try scope.raw("{\"name\":\"\",\"version\":\"\",\"attributes\":{}}") }
        try reader.beginObject(depth: depth, "a ScopeLogs")
        var first = true
        var seen = OTLPJSONSeen()
        while let name = try reader.nextMember(&first) {
            guard name == .logRecords else {
                try reader.skip(depth: depth + 1)
                continue
            }
            try seen.once(name)
            try each(depth: depth + 1, "logRecords") { decoder in
                try decoder.logRecord(depth: depth + 2, resource: resource, scope: scope, problem: problem)
            }
        }
    }

    /// An `InstrumentationScope` as `{"name": …, "version": …, "attributes": {…}}`.
    private mutating func scope(depth: Int, into out: inout JSONWriter, problem: inout JSONText.Problem?) throws {
        guard try !reader.null() else { return }
        try reader.beginObject(depth: depth, "\"scope\"")
        try out.open(UInt8(ascii: "{"))
        var first = true
        var firstOut = true
        var seen = OTLPJSONSeen()
        while let name = try reader.nextMember(&first) {
            switch name {
            case .name, .version:
                try seen.once(name)
                try out.comma(&firstOut)
                try out.raw(name == .name ? "\"name\":" : "\"version\":")
                try reader.string(into: &out, name.rawValue, problem: &problem)
            case .attributes:
                try seen.once(name)
                try out.comma(&firstOut)
                try out.raw("\"attributes\":")
                try reader.attributes(depth: depth + 1, into: &out, problem: &problem)
            default:
                try reader.skip(depth: depth + 1)
            }
        }
        if !seen.contains(.name) {
            try out.comma(&firstOut)
            try out.raw("\"name\":\"\"")
        }
        if !seen.contains(.version) {
            try out.comma(&firstOut)
            try out.raw("\"version\":\"\"")
        }
        if !seen.contains(.attributes) {
            try out.comma(&firstOut)
            try out.raw("\"attributes\":{}")
        }
        try out.close(UInt8(ascii: "}"))
    }
}
