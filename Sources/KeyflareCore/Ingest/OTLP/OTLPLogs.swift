/// OpenTelemetry log exports (OTLP/HTTP `POST /v1/logs`) turned into Keyflare events, after
/// Logflare's mapping (`Logflare.Logs.OtelLog`): one event per `LogRecord`,
///
///     {"timestamp": <time_unix_nano, else observed_time_unix_nano; absent when both are 0>,
///      "severity_number": 9, "severity_text": "INFO", "trace_id": "<hex>", "span_id": "<hex>",
///      "event_message": <the body when it is a string, else event_name, else "">,
///      "body": <AnyValue>, "attributes": {…}, "scope": {"name", "version", "attributes"},
///      "resource": {…}, "metadata": {"type": "otel_log"}}
///
/// where an `AnyValue` is a JSON string, boolean, integer, number (`null` for NaN and the
/// infinities), array, object (`kvlist_value`) or base64 string (`bytes_value`). The events come
/// out as the JSON text of an array, ready for `IngestBatch.parse`, which they always pass when
/// there is at least one: the decoders apply its limits (10 MiB, 10,000 events, 128 levels, what
/// `jsonb` can store) as they write. Both read the body once, building no tree, so a request costs
/// at most its own size plus the events' 10 MiB.
///
/// A record that is readable but cannot be stored (a string that is not UTF-8 or holds NUL, in the
/// record or in its resource or scope) is dropped and counted, for the response's
/// `partial_success`; a body that cannot be read is a 400 for the whole request.
public enum OTLPLogs {
    /// A decoded request.
    public struct Decoded: Sendable, Equatable {
        /// The events' JSON text: an array, `[]` when no record could be stored.
        public var json: [UInt8]
        /// How many events `json` holds.
        public var events: Int
        /// How many log records were dropped because they cannot be stored.
        public var rejected: Int
        /// Why the first dropped record was dropped, for the response's `error_message`, such as
        /// `log record 3: a string is not valid UTF-8` (records count from 0 across the request).
        public var rejectionMessage: String?

        /// - Parameters:
        ///   - json: the events' JSON array.
        ///   - events: how many events it holds.
        ///   - rejected: how many records were dropped.
        ///   - rejectionMessage: why the first was dropped.
        public init(json: [UInt8], events: Int, rejected: Int, rejectionMessage: String?) {
            self.json = json
            self.events = events
            self.rejected = rejected
            self.rejectionMessage = rejectionMessage
        }
    }

    /// Decodes an `ExportLogsServiceRequest` in the protobuf encoding (`application/x-protobuf`).
    /// Throws `KeyflareError.badRequest` for a body that is not one, `.payloadTooLarge` past a limit.
    /// - Parameters:
    ///   - body: the decompressed bytes.
    ///   - limit: most bytes of events' JSON (and of one resource's or scope's), at most 10 MiB.
    public static func decodeProtobuf(_ body: UnsafeRawBufferPointer, limit: Int = IngestBatch.maxBodyBytes) throws -> Decoded {
        try OTLPProtobufDecoder.decode(body, limit: min(limit, IngestBatch.maxBodyBytes))
    }

    /// Decodes an `ExportLogsServiceRequest` in the OTLP JSON encoding (`application/json`):
    /// lowerCamelCase or proto field names, 64-bit integers as strings or numbers, `traceId` and
    /// `spanId` in hex, `bytesValue` in base64, `severityNumber` as a number or its enum name.
    /// Throws `KeyflareError.badRequest` for a body that is not one, `.payloadTooLarge` past a limit.
    /// - Parameters:
    ///   - body: the decompressed bytes.
    ///   - limit: most bytes of events' JSON (and of one resource's or scope's), at most 10 MiB.
    public static func decodeJSON(_ body: UnsafeRawBufferPointer, limit: Int = IngestBatch.maxBodyBytes) throws -> Decoded {
        try OTLPJSONDecoder.decode(body, limit: min(limit, IngestBatch.maxBodyBytes))
    }

    /// An `ExportLogsServiceResponse` in the protobuf encoding: empty when nothing was rejected,
    /// else `partial_success { rejected_log_records, error_message }`.
    /// - Parameters:
    ///   - rejected: how many log records were dropped.
    ///   - message: why, for a person (sent only with a partial success).
    public static func responseProtobuf(rejected: Int, message: String?) -> [UInt8] {
        guard rejected > 0 || !(message ?? "").isEmpty else { return [] }
        var partial: [UInt8] = []
        if rejected != 0 {
            partial.append(0x08)  // field 1, varint
            appendVarint(UInt64(bitPattern: Int64(rejected)), to: &partial)
        }
        if let message, !message.isEmpty {
            partial.append(0x12)  // field 2, length-delimited
            appendVarint(UInt64(message.utf8.count), to: &partial)
            partial.append(contentsOf: message.utf8)
        }
        var response: [UInt8] = [0x0A]  // field 1, length-delimited
        appendVarint(UInt64(partial.count), to: &response)
        return response + partial
    }

    /// An `ExportLogsServiceResponse` in the OTLP JSON encoding: `{}` when nothing was rejected,
    /// else `{"partialSuccess":{"rejectedLogRecords":"2","errorMessage":"…"}}` (an int64 is a
    /// string in protobuf's JSON).
    /// - Parameters:
    ///   - rejected: how many log records were dropped.
    ///   - message: why, for a person (sent only with a partial success).
    public static func responseJSON(rejected: Int, message: String?) -> [UInt8] {
        guard rejected > 0 || !(message ?? "").isEmpty else { return Array("{}".utf8) }
        var out = JSONWriter(limit: .max)
        // Nothing here can pass the writer's limits: it has none, and these are two values.
        try? out.raw("{\"partialSuccess\":{\"rejectedLogRecords\":\"")
        try? out.integer(Int64(rejected))
        try? out.raw("\"")
        if let message, !message.isEmpty {
            try? out.raw(",\"errorMessage\":")
            var text = message
            text.withUTF8 { utf8 in
                // A Swift string is valid UTF-8; only a NUL would not be stored, and here it is escaped.
                _ = try? out.string(UnsafeRawBufferPointer(utf8))
            }
        }
        try? out.raw("}}")
        return out.bytes
    }

    private static func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(rest & 0x7F) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }
}
