/// Walks an `ExportLogsServiceRequest` in the protobuf encoding and writes one event per
/// `LogRecord` (opentelemetry-proto `collector/logs/v1`, `logs/v1`, `common/v1`, `resource/v1`).
///
/// Fields may come in any order and may repeat: for a field that is not `repeated` the last one
/// counts, as in every protobuf parser, but embedded messages sent twice are not merged (the last
/// replaces the first; no OTLP exporter sends them twice). A known field with an unexpected wire
/// type is skipped as unknown, as protobuf's own parsers do. Each message is read with a pass over
/// its own fields only, so the work is linear in the body.
struct OTLPProtobufDecoder {
    private var events: OTLPEvents

    /// Decodes a request body.
    static func decode(_ body: UnsafeRawBufferPointer, limit: Int) throws -> OTLPLogs.Decoded {
        guard body.count <= IngestBatch.maxBodyBytes else {
            throw KeyflareError.payloadTooLarge("the request body is over \(IngestBatch.maxBodyBytes / 1024 / 1024) MiB")
        }
        var decoder = OTLPProtobufDecoder(events: try OTLPEvents(limit: limit))
        var request = ProtobufReader(body)
        while let field = try request.next() {
            if field.number == 1, case .bytes(let resourceLogs) = field.value { try decoder.resourceLogs(resourceLogs) }
        }
        return try decoder.events.finish()
    }

    /// The last length-delimited field `number` of a message, if any.
    static func last(_ number: UInt32, in message: UnsafeRawBufferPointer?) throws -> UnsafeRawBufferPointer? {
        guard let message else { return nil }
        var found: UnsafeRawBufferPointer?
        var reader = ProtobufReader(message)
        while let field = try reader.next() {
            if field.number == number, case .bytes(let value) = field.value { found = value }
        }
        return found
    }

    /// Calls `body` with every length-delimited field `number` of a message, in order.
    static func each(
        _ number: UInt32, in message: UnsafeRawBufferPointer?, _ body: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        guard let message else { return }
        var reader = ProtobufReader(message)
        while let field = try reader.next() {
            if field.number == number, case .bytes(let value) = field.value { try body(value) }
        }
    }

    // MARK: - Resource and scope

    /// `ResourceLogs { Resource resource = 1; repeated ScopeLogs scope_logs = 2; }`
    private mutating func resourceLogs(_ message: UnsafeRawBufferPointer) throws {
        // Resource { repeated KeyValue attributes = 1; }, written once for all its records.
        var resource = JSONWriter(limit: events.out.limit, depth: 2, capacity: 256)
        var problem: JSONText.Problem?
        try Self.attributes(1, of: try Self.last(1, in: message), into: &resource, problem: &problem)
        try Self.each(2, in: message) { scopeLogs in
            try self.scopeLogs(scopeLogs, resource: resource, problem: problem)
        }
    }

    /// `ScopeLogs { InstrumentationScope scope = 1; repeated LogRecord log_records = 2; }`
    private mutating func scopeLogs(_ message: UnsafeRawBufferPointer, resource: JSONWriter, problem: JSONText.Problem?) throws {
        // InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; }
        let scope = try Self.last(1, in: message)
        var json = JSONWriter(limit: events.out.limit, depth: 2, capacity: 256)
        var problem = problem
        try json.open(UInt8(ascii: "{"))
        try json.raw("\"name\":")
        try Self.string(try Self.last(1, in: scope), into: &json, problem: &problem)
        try json.raw(",\"version\":")
        try Self.string(try Self.last(2, in: scope), into: &json, problem: &problem)
        try json.raw(",\"attributes\":")
        try Self.attributes(3, of: scope, into: &json, problem: &problem)
        try json.close(UInt8(ascii: "}"))
        try Self.each(2, in: message) { record in
            try self.logRecord(record, resource: resource, scope: json, problem: problem)
        }
    }

    // MARK: - Log records

    /// What a `LogRecord` holds: the last of each field it sends (attributes are read again).
    private struct RecordFields {
        var time: UInt64 = 0
        var observedTime: UInt64 = 0
        var severityNumber: Int32 = 0
        var severityText: UnsafeRawBufferPointer?
        var body: UnsafeRawBufferPointer?
        var traceID: UnsafeRawBufferPointer?
        var spanID: UnsafeRawBufferPointer?
        var eventName: UnsafeRawBufferPointer?
    }

    /// One `LogRecord`, as Logflare maps it (`Logflare.Logs.OtelLog`).
    private mutating func logRecord(
        _ message: UnsafeRawBufferPointer, resource: JSONWriter, scope: JSONWriter, problem inherited: JSONText.Problem?
    ) throws {
        let mark = try events.beginRecord()
        var fields = RecordFields()
        var reader = ProtobufReader(message)
        while let field = try reader.next() {
            switch (field.number, field.value) {
            case (1, .fixed64(let value)): fields.time = value
            case (11, .fixed64(let value)): fields.observedTime = value
            // An enum is an int32: its varint is sign-extended to 64 bits, and only the low 32 count.
            case (2, .varint(let value)): fields.severityNumber = Int32(truncatingIfNeeded: value)
            case (3, .bytes(let value)): fields.severityText = value
            case (5, .bytes(let value)): fields.body = value
            case (9, .bytes(let value)): fields.traceID = value
            case (10, .bytes(let value)): fields.spanID = value
            case (12, .bytes(let value)): fields.eventName = value
            default: break
            }
        }
        var problem = inherited
        try events.out.open(UInt8(ascii: "{"))
        try events.timestamp(fields.time != 0 ? fields.time : fields.observedTime)
        try events.out.raw("\"severity_number\":")
        try events.out.integer(Int64(fields.severityNumber))
        try events.out.raw(",\"severity_text\":")
        try Self.string(fields.severityText, into: &events.out, problem: &problem)
        try events.out.raw(",\"trace_id\":")
        try events.out.hexString(fields.traceID ?? UnsafeRawBufferPointer(start: nil, count: 0))
        try events.out.raw(",\"span_id\":")
        try events.out.hexString(fields.spanID ?? UnsafeRawBufferPointer(start: nil, count: 0))
        try events.out.raw(",\"event_message\":")
        if let body = try Self.oneof(fields.body), body.number == 1, case .bytes(let text) = body.value {
            try Self.string(text, into: &events.out, problem: &problem)
        } else {
            try Self.string(fields.eventName, into: &events.out, problem: &problem)
        }
        try events.out.raw(",\"body\":")
        try Self.anyValue(fields.body, into: &events.out, problem: &problem)
        try events.out.raw(",\"attributes\":")
        try Self.attributes(6, of: message, into: &events.out, problem: &problem)
        // A record already known to be dropped does not copy the shared parts: a large resource
        // copied once per dropped record would cost its size times 10,000.
        if problem == nil {
            try events.out.raw(",\"scope\":")
            try events.out.append(scope)
            try events.out.raw(",\"resource\":")
            try events.out.append(resource)
        }
        try events.out.raw(",\"metadata\":{\"type\":\"otel_log\"}")
        try events.out.close(UInt8(ascii: "}"))
        events.endRecord(mark, problem: problem)
    }
}
