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
    /// Vercel log drains: a message from the event's source and proxy fields (`/vercel`, `/zeit`).
    case vercel
    /// Netlify log drains: a message from the log type, method, status and path (`/netlify`).
    case netlify
    /// GitHub webhooks: "<repository> | <sender> | <action>", the payload without `*_url` keys.
    case github
    /// `{"body": …, "typecasts": [{"path", "from": "string", "to": "float"}]}`: the body, cast.
    case typecasts
}

/// How a route reads a body that is not JSON.
public enum IngestBodyFormat: Sendable {
    /// JSON only (NDJSON with `application/x-ndjson`, BERT with `application/bert`, on every route).
    case json
    /// Also `text/plain` as NDJSON (Cloudflare Logpush).
    case textIsNDJSON
    /// Also `application/logplex-1` as syslog frames; Heroku's frames always carry their length.
    case syslog(heroku: Bool)
}

/// One ingest route: the path after `/logs`, `/api/logs` or `/api/events`, and how it treats its body.
public struct IngestRoute: Sendable {
    /// `""` for the base route, else Logflare's integration suffix, such as `/vector`.
    public let suffix: String
    /// What is stored for each event.
    public let mapping: IngestMapping
    /// Whether an event's own `timestamp` sets its time (else the time it was received).
    public let eventTimestamps: Bool
    /// Which bodies besides JSON the route reads.
    public let format: IngestBodyFormat
    /// Whether each event gets the request's CloudEvents `ce-*` headers (`/cloud-event`).
    public let cloudEvent: Bool
    /// Whether pages may call it with a public token (CORS), as Logflare allows.
    public let browserCallable: Bool

    init(
        _ suffix: String, _ mapping: IngestMapping = .raw, eventTimestamps: Bool = true, format: IngestBodyFormat = .json,
        cloudEvent: Bool = false, browserCallable: Bool = false
    ) {
        self.suffix = suffix
        self.mapping = mapping
        self.eventTimestamps = eventTimestamps
        self.format = format
        self.cloudEvent = cloudEvent
        self.browserCallable = browserCallable
    }

    /// The prefixes every route is served under.
    public static let prefixes = ["/logs", "/api/logs", "/api/events"]

    /// Every route, in Logflare's names and with its processors' mappings.
    public static let all: [IngestRoute] = [
        IngestRoute("", browserCallable: true),
        IngestRoute("/json", .genericJSON, eventTimestamps: false, browserCallable: true),
        IngestRoute("/browser/reports", .genericJSON, eventTimestamps: false, browserCallable: true),
        IngestRoute("/vector", .vector),
        IngestRoute("/cloudflare", format: .textIsNDJSON),
        IngestRoute("/elixir/logger"),
        IngestRoute("/erlang"),
        IngestRoute("/erlang/logger"),
        IngestRoute("/erlang/lager"),
        IngestRoute("/vercel", .vercel),
        IngestRoute("/zeit", .vercel),
        IngestRoute("/netlify", .netlify),
        IngestRoute("/github", .github, eventTimestamps: false),
        IngestRoute("/typecasts", .typecasts),
        IngestRoute("/cloud-event", cloudEvent: true),
        IngestRoute("/logplex", format: .syslog(heroku: true)),
        IngestRoute("/syslog", format: .syslog(heroku: true)),
        IngestRoute("/syslogs", format: .syslog(heroku: false)),
    ]

    /// The paths pages may call: every prefix with every browser-callable suffix.
    public static let browserPaths: [String] = prefixes.flatMap { prefix in
        all.filter(\.browserCallable).map { prefix + $0.suffix }
    }
}
