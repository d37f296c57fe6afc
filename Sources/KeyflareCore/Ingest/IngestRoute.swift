/// How an ingest route turns the events it is sent into what is stored, after Logflare's processors
/// of the same routes. The mapping runs in PostgreSQL, in the statement that inserts the batch, so
/// no event is decoded or re-encoded here.
public enum IngestMapping: String, Sendable {
    /// Stored as sent (`/api/logs` and most integrations).
    case raw
    /// `{"message": <the event as JSON text>, "metadata": <the event>}` (`/json`, `/browser/reports`).
    case genericJSON = "generic_json"
    /// Vector's events: `message` and `timestamp` lifted out, the rest under `metadata` (`/vector`).
    case vector
}

/// One ingest route: the path after `/logs`, `/api/logs` or `/api/events`, and how it treats its body.
public struct IngestRoute: Sendable {
    /// `""` for the base route, else Logflare's integration suffix, such as `/vector`.
    public let suffix: String
    /// What is stored for each event.
    public let mapping: IngestMapping
    /// Whether an event's own `timestamp` sets its time (else the time it was received).
    public let eventTimestamps: Bool
    /// Whether a `text/plain` body is newline-delimited JSON (Cloudflare Logpush sends it so).
    public let textIsNDJSON: Bool
    /// Whether pages may call it with a public token (CORS), as Logflare allows.
    public let browserCallable: Bool

    init(_ suffix: String, _ mapping: IngestMapping = .raw, eventTimestamps: Bool = true, textIsNDJSON: Bool = false, browserCallable: Bool = false) {
        self.suffix = suffix
        self.mapping = mapping
        self.eventTimestamps = eventTimestamps
        self.textIsNDJSON = textIsNDJSON
        self.browserCallable = browserCallable
    }

    /// The prefixes every route is served under.
    public static let prefixes = ["/logs", "/api/logs", "/api/events"]

    /// Every route, in Logflare's names. The Elixir and Erlang ones take JSON here; BERT bodies are
    /// not decoded yet.
    public static let all: [IngestRoute] = [
        IngestRoute("", browserCallable: true),
        IngestRoute("/json", .genericJSON, eventTimestamps: false, browserCallable: true),
        IngestRoute("/browser/reports", .genericJSON, eventTimestamps: false, browserCallable: true),
        IngestRoute("/vector", .vector),
        IngestRoute("/cloudflare", textIsNDJSON: true),
        IngestRoute("/elixir/logger"),
        IngestRoute("/erlang"),
        IngestRoute("/erlang/logger"),
        IngestRoute("/erlang/lager"),
    ]

    /// The paths pages may call: every prefix with every browser-callable suffix.
    public static let browserPaths: [String] = prefixes.flatMap { prefix in
        all.filter(\.browserCallable).map { prefix + $0.suffix }
    }
}
