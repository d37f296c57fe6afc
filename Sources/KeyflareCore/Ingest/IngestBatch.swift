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
    public let timestamps: [Date]

    /// How many events.
    public var count: Int { timestamps.count }

    /// A batch made of events (for tests and tools).
    /// - Parameters:
    ///   - events: the events.
    public init(events: [IngestEvent]) {
        shape = .array
        json = "[" + events.map(\.json).joined(separator: ",") + "]"
        timestamps = events.map(\.timestamp)
    }

    private init(shape: Shape, json: String, timestamps: [Date]) {
        self.shape = shape
        self.json = json
        self.timestamps = timestamps
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
        return IngestBatch(shape: scanned.shape, json: String(decoding: body, as: UTF8.self), timestamps: timestamps)
    }

    static func timestamp(_ token: IngestScanner.TimestampToken) -> Date? {
        switch token {
        case .string(let text): RFC3339.parse(text)
        case .number(let text): Double(text).flatMap { timestamp($0 as NSNumber) }
        case .other: nil
        }
    }

    /// An ISO-8601 string, or a Unix epoch in seconds, milliseconds or microseconds (told apart by
    /// magnitude); nil for anything else.
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
            return nil
        default:
            return nil
        }
    }
}
