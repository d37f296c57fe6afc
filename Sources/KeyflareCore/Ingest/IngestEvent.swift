import Foundation

/// One event, for building batches in tests and tools: its time and its JSON text. Its message is
/// whatever the JSON's `event_message` or `message` says, as for events that arrive over HTTP.
public struct IngestEvent: Sendable, Equatable {
    /// The event's own `timestamp` when it is usable, else the time it was received.
    public let timestamp: Date
    /// The whole event object, as JSON text.
    public let json: String

    /// - Parameters:
    ///   - timestamp: the event time.
    ///   - json: the whole event object as JSON text.
    public init(timestamp: Date, json: String) {
        self.timestamp = timestamp
        self.json = json
    }
}
