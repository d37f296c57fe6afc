import Foundation

/// A validated ingest body: its JSON text as sent, its shape, and one resolved timestamp per event.
///
/// The text goes to PostgreSQL as it is (one `jsonb` parameter), which splits it into events and
/// picks each `event_message` itself; re-serialising every event here cost more than the insert.
public struct IngestBatch: Sendable, Equatable {
    /// How the events are wrapped.
    public enum Shape: String, Sendable {
        /// `{"batch": [event, …]}`
        case batch
        /// `[event, …]`
        case array
        /// one event object
        case single
    }

    /// Most events in one request.
    public static let maxEvents = 10_000
    /// Largest body, after decompression.
    public static let maxBodyBytes = 10 * 1024 * 1024

    /// How the events are wrapped.
    public let shape: Shape
    /// The body's JSON text, unchanged.
    public let json: String
    /// One per event, in order: the event's own `timestamp` when usable, else the receive time.
    public private(set) var timestamps: [Date]
    /// Where the body names its source, if it does (top-level `source`, `source_name`, … members).
    public let source: IngestScanner.SourceFields
    /// What the route stores for each event (set by the route; `raw` by default).
    public var mapping: IngestMapping = .raw
    /// A JSON object whose members are added to (and replace those of) every event before it is
    /// mapped, such as a CloudEvent's `ce-*` headers; nil for none. Made by the server, not sent.
    public var addedFields: String?

    /// How many events.
    public var count: Int { timestamps.count }

    /// A batch made of events (for tests and tools).
    /// - Parameters:
    ///   - events: the events.
    public init(events: [IngestEvent]) {
        shape = .array
        json = "[" + events.map(\.json).joined(separator: ",") + "]"
        timestamps = events.map(\.timestamp)
        source = .init()
    }

    private init(shape: Shape, json: String, timestamps: [Date], source: IngestScanner.SourceFields = .init()) {
        self.shape = shape
        self.json = json
        self.timestamps = timestamps
        self.source = source
    }

    /// The same events, every one stamped with `date` (for integrations whose events carry no
    /// time of their own at the top level).
    public func stamped(_ date: Date) -> IngestBatch {
        var copy = self
        copy.timestamps = Array(repeating: date, count: count)
        return copy
    }

    /// Parses and validates a body. All or nothing: any bad event rejects the whole request.
    /// - Parameters:
    ///   - body: the JSON bytes (already decompressed).
    ///   - receivedAt: the time to use for events without a usable timestamp.
    public static func parse(_ body: Data, receivedAt: Date) throws -> IngestBatch {
        try body.withUnsafeBytes { try parse($0, receivedAt: receivedAt) }
    }

    /// Parses and validates a body in one pass that builds no objects (`IngestScanner`): it stops
    /// at the first limit crossed, so a refused body costs no more memory than its own bytes.
    /// - Parameters:
    ///   - body: the JSON bytes (already decompressed).
    ///   - receivedAt: the time to use for events without a usable timestamp.
    public static func parse(_ body: UnsafeRawBufferPointer, receivedAt: Date) throws -> IngestBatch {
        guard body.count <= maxBodyBytes else {
            throw KeyflareError.payloadTooLarge("the request body is over \(maxBodyBytes / 1024 / 1024) MiB")
        }
        let scanned = try IngestScanner.scan(body, maxEvents: maxEvents)
        let timestamps = scanned.timestamps.map { token in token.flatMap(timestamp) ?? receivedAt }
        // The scanner has checked that the bytes are valid UTF-8, so nothing is replaced here.
        return IngestBatch(
            shape: scanned.shape, json: String(decoding: body, as: UTF8.self), timestamps: timestamps, source: scanned.source)
    }

    /// Parses newline-delimited JSON (`application/x-ndjson`, and Cloudflare Logpush's `text/plain`):
    /// one event object per line, blank lines skipped, `\r\n` accepted. Each line is scanned on its
    /// own, so a line can hold exactly one object and nothing else; the events then travel as one
    /// JSON array. The same limits as for JSON hold: bytes, events, nesting, what `jsonb` can store.
    /// - Parameters:
    ///   - body: the bytes (already decompressed).
    ///   - receivedAt: the time to use for events without a usable timestamp.
    public static func parseNDJSON(_ body: UnsafeRawBufferPointer, receivedAt: Date) throws -> IngestBatch {
        guard body.count <= maxBodyBytes else {
            throw KeyflareError.payloadTooLarge("the request body is over \(maxBodyBytes / 1024 / 1024) MiB")
        }
        var json: [UInt8] = [UInt8(ascii: "[")]
        json.reserveCapacity(body.count + 2)
        var timestamps: [Date] = []
        var lineNumber = 0
        var start = 0
        while start < body.count {
            var end = start
            while end < body.count, body[end] != UInt8(ascii: "\n") { end += 1 }
            lineNumber += 1
            var (from, to) = (start, end)
            while from < to, [0x20, 0x09, 0x0D].contains(body[from]) { from += 1 }
            while to > from, [0x20, 0x09, 0x0D].contains(body[to - 1]) { to -= 1 }
            start = end + 1
            guard from < to else { continue }
            guard timestamps.count < maxEvents else {
                throw KeyflareError.payloadTooLarge("more than \(maxEvents) events in one request; the limit is \(maxEvents)")
            }
            let line = UnsafeRawBufferPointer(rebasing: body[from..<to])
            let scanned: IngestScanner.Result
            do {
                scanned = try IngestScanner.scan(line, maxEvents: 1)
            } catch KeyflareError.badRequest(let message) {
                throw KeyflareError.badRequest("NDJSON line \(lineNumber): \(message)")
            }
            guard scanned.shape == .single else {
                throw KeyflareError.badRequest("NDJSON line \(lineNumber) is not one event object")
            }
            if !timestamps.isEmpty { json.append(UInt8(ascii: ",")) }
            json.append(contentsOf: line)
            timestamps.append(scanned.timestamps[0].flatMap(timestamp) ?? receivedAt)
        }
        guard !timestamps.isEmpty else { throw KeyflareError.badRequest("the batch is empty: send at least one event") }
        json.append(UInt8(ascii: "]"))
        return IngestBatch(shape: .array, json: String(decoding: json, as: UTF8.self), timestamps: timestamps)
    }

    static func timestamp(_ token: IngestScanner.TimestampToken) -> Date? {
        switch token {
        case .string(let text): RFC3339.parse(text)
        case .number(let text): Double(text).flatMap { timestamp($0 as NSNumber) }
        case .other: nil
        }
    }

    /// An ISO-8601 string, or a Unix epoch in seconds, milliseconds, microseconds or nanoseconds
    /// (told apart by magnitude); nil for anything else.
    static func timestamp(_ value: Any?) -> Date? {
        switch value {
        case let text as String:
            return RFC3339.parse(text)
        case is Bool:
            // JSON true/false arrive as (bridged) numbers too; they are not timestamps.
            return nil
        case let number as NSNumber:
            let v = number.doubleValue
            guard v.isFinite, v >= 0 else { return nil }
            if v < 1e11 { return Date(timeIntervalSince1970: v) }
            if v < 1e14 { return Date(timeIntervalSince1970: v / 1_000) }
            if v < 1e17 { return Date(timeIntervalSince1970: v / 1_000_000) }
            if v < 1e20 { return Date(timeIntervalSince1970: v / 1_000_000_000) }
            return nil
        default:
            return nil
        }
    }
}
