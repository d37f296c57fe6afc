import CompressNIO
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import KeyflareCore

/// `POST /api/logs` (and `/logs`, `/api/events`, each with Logflare's integration suffixes): store a
/// batch of events in one source.
///
/// The token was verified before this runs and before the body is read. When the query string or a
/// header names the source, it is resolved in the token's account first (404 for another account's),
/// then the scope is checked (403), and only then is the body read, decompressed and parsed. When
/// only the body names it (as Logflare's Cloudflare worker does), the body is read first, within the
/// same byte budget. Nothing is stored unless every event is valid.
struct IngestController {
    let sources: any SourceManaging
    let committer: any EventCommitting
    /// Memory for bodies being read, inflated, parsed and committed (`KEYFLARE_INGEST_QUEUE_BYTES`).
    let budget: ByteBudget
    /// Per-token rate limits (`events_per_second` is checked here, once the events are counted).
    let limiter: RateLimiter
    /// Counts requests refused by a limit.
    let usage: UsageCounter
    let sourceCache = SourceCache()
    static let notFound = KeyflareError.notFound("source not found")
    static let sourceHeaders = [HTTPField.Name("X-Source")!, HTTPField.Name("X-Collection")!]
    /// Logflare's names for the source, in its order of precedence: names before ids.
    static let sourceParameters = ["source_name", "collection_name", "source", "collection"]
    /// The query parameters ingest knows (besides `api_key`), made once.
    static let knownParameters = Set(sourceParameters)

    /// The success body, made once.
    static let logged = ByteBuffer(string: #"{"message":"Logged!"}"#)

    /// How a request names its source.
    enum SourceReference {
        case id(UUID)
        case name(String)
    }

    func addRoutes(to router: RouterGroup<TokenContext>, prefixes: [String]) {
        for prefix in prefixes {
            for route in IngestRoute.all {
                router.post(RouterPath(prefix + route.suffix)) { request, context -> Response in
                    try await ingest(request, context, route: route)
                }
            }
        }
        router.post("/v1/logs") { request, context -> Response in try await otlpLogs(request, context) }
    }

    func ingest(_ request: Request, _ context: TokenContext, route: IngestRoute) async throws -> Response {
        let receivedAt = Date()
        let query = QueryString(request)
        // As on the management routes, a parameter Keyflare does not know is refused, not ignored.
        try query.requireOnly(Self.knownParameters)
        let encoding = try Self.encoding(request, route: route)
        var source = try await namedSource(query: query, request: request, context)
        let (reserved, outputLimit) = Self.worstCase(request, growth: encoding.growth)
        guard budget.take(reserved) else { throw Self.queueFull }
        defer { budget.give(reserved) }
        let body = try await readBody(request)
        // Parsed in place: no copy of the body is made until it is known to be acceptable.
        var batch = try body.withUnsafeReadableBytes { bytes in
            try Self.parse(bytes, encoding: encoding, outputLimit: outputLimit, receivedAt: receivedAt)
        }
        if source == nil {
            guard let named = try Self.reference(body: batch.source) else {
                throw KeyflareError.badRequest(
                    "no source given: use ?source=<id>, ?source_name=<name>, the X-Source header, or \"source\" in the body")
            }
            source = try await resolve(named, context)
            try context.token.requireIngest(into: source!.id)
            context.used(.ingest(source!.id))
        }
        if !route.eventTimestamps { batch = batch.stamped(receivedAt) }
        if route.cloudEvent { batch = try Self.withCloudEvent(batch, request.headers, receivedAt: receivedAt) }
        batch.mapping = route.mapping
        if let refused = eventsRefused(batch.count, context) { return refused }
        try await store(batch, in: source!, context)
        return Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: Self.logged))
    }

    /// `POST /v1/logs`: an OTLP/HTTP logs export (protobuf or JSON, optionally gzipped) into the
    /// source named by `X-Source` or the query string. Each log record becomes one event; records
    /// that cannot be stored are counted in the answer's `partial_success`, as OTLP asks.
    func otlpLogs(_ request: Request, _ context: TokenContext) async throws -> Response {
        let receivedAt = Date()
        let query = QueryString(request)
        try query.requireOnly(Self.knownParameters)
        let protobuf: Bool
        switch Self.mediaType(request) {
        case "application/x-protobuf", "application/protobuf": protobuf = true
        case "application/json": protobuf = false
        default:
            throw KeyflareError.unsupportedMediaType("OTLP/HTTP bodies are application/x-protobuf or application/json")
        }
        guard let named = try Self.reference(query: query, headers: request.headers) else {
            throw KeyflareError.badRequest("no source given: use the X-Source header, ?source=<id> or ?source_name=<name>")
        }
        let source = try await resolve(named, context)
        try context.token.requireIngest(into: source.id)
        context.used(.ingest(source.id))
        let (reserved, outputLimit) = Self.worstCase(request, growth: .otlp)
        guard budget.take(reserved) else { throw Self.queueFull }
        defer { budget.give(reserved) }
        let body = try await readBody(request)
        let (batch, decoded) = try body.withUnsafeReadableBytes { bytes -> (IngestBatch?, OTLPLogs.Decoded) in
            let decoded = protobuf ? try OTLPLogs.decodeProtobuf(bytes, limit: outputLimit) : try OTLPLogs.decodeJSON(bytes, limit: outputLimit)
            guard decoded.events > 0 else { return (nil, decoded) }
            return (try decoded.json.withUnsafeBytes { try IngestBatch.parse($0, receivedAt: receivedAt) }, decoded)
        }
        if let batch {
            if let refused = eventsRefused(batch.count, context) { return refused }
            try await store(batch, in: source, context)
        }
        let answer = protobuf
            ? OTLPLogs.responseProtobuf(rejected: decoded.rejected, message: decoded.rejectionMessage)
            : OTLPLogs.responseJSON(rejected: decoded.rejected, message: decoded.rejectionMessage)
        return Response(
            status: .ok, headers: [.contentType: protobuf ? "application/x-protobuf" : "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: answer)))
    }

    /// A 429 when the token's `events_per_second` cannot take `count` more events now (nothing is
    /// stored), else nil.
    private func eventsRefused(_ count: Int, _ context: TokenContext) -> Response? {
        guard let limit = context.token.rateLimit, let perSecond = limit.eventsPerSecond else { return nil }
        let decision = limiter.admitEvents(context.token.tokenID, limit: limit, count: count)
        guard !decision.allowed else { return nil }
        usage.recordRateLimited(context.token.tokenID)
        return ErrorResponse.response(
            status: .tooManyRequests,
            message: "this token's event limit (\(perSecond) events a second) cannot take \(count) more now; retry in \(decision.resetSeconds) s (nothing was stored)",
            headers: [.retryAfter: String(decision.resetSeconds)])
    }

    static let queueFull = KeyflareError.unavailable("the ingest queue is full; retry in a moment (nothing was stored)")

    /// The source the query string or a header names, resolved and checked against the token's
    /// scopes before the body is read; nil when only the body can name it.
    private func namedSource(query: QueryString, request: Request, _ context: TokenContext) async throws -> Source? {
        if let named = try Self.reference(query: query, headers: request.headers) {
            let source = try await resolve(named, context)
            try context.token.requireIngest(into: source.id)
            context.used(.ingest(source.id))
            return source
        }
        // Only the body could name the source, and this token may ingest nowhere: refused before
        // the body is read, which would hold the ingest budget only to be refused after.
        guard context.token.canIngestSomewhere else {
            throw KeyflareError.forbidden("this token needs the ingest or ingest:source:<id> scope")
        }
        return nil
    }

    private func store(_ batch: IngestBatch, in source: Source, _ context: TokenContext) async throws {
        do {
            try await committer.insert(batch, sourceID: source.id, accountID: context.token.accountID)
        } catch let error as KeyflareError where error.status == .notFound {
            sourceCache.forget(id: source.id, accountID: context.token.accountID)
            throw error
        }
    }

    /// How a request's body is encoded.
    enum BodyEncoding: Equatable {
        case json
        case ndjson
        case bert
        case syslog(heroku: Bool)

        /// How much memory reading it may take beyond the body itself.
        var growth: Growth {
            switch self {
            case .json: .none
            case .ndjson: .ndjson
            case .bert, .syslog: .converted
            }
        }
    }

    /// What a body becomes before it is stored, for the memory it is given.
    enum Growth {
        /// Parsed in place.
        case none
        /// Copied into one JSON array.
        case ndjson
        /// Converted into JSON text of events (BERT, syslog).
        case converted
        /// Converted, with one resource's and one scope's JSON held beside the events (OTLP).
        case otlp
    }

    /// The body's encoding, from its `Content-Type` and what the route reads.
    static func encoding(_ request: Request, route: IngestRoute) throws -> BodyEncoding {
        switch (mediaType(request), route.format) {
        case ("application/x-ndjson", _), ("text/plain", .textIsNDJSON): return .ndjson
        case ("application/bert", _): return .bert
        case ("application/logplex-1", .syslog(let heroku)): return .syslog(heroku: heroku)
        case ("application/logplex-1", _):
            throw KeyflareError.unsupportedMediaType("application/logplex-1 is read on /logplex, /syslog and /syslogs only")
        default: return .json
        }
    }

    /// The body parsed as its encoding says; converted formats become JSON text of events first,
    /// of at most `outputLimit` bytes, and are then checked as any JSON body is.
    static func parse(_ bytes: UnsafeRawBufferPointer, encoding: BodyEncoding, outputLimit: Int, receivedAt: Date) throws -> IngestBatch {
        let json: [UInt8]
        switch encoding {
        case .json: return try IngestBatch.parse(bytes, receivedAt: receivedAt)
        case .ndjson: return try IngestBatch.parseNDJSON(bytes, receivedAt: receivedAt)
        case .bert: json = try BERTDecoder.json(from: bytes, limit: outputLimit)
        case .syslog(let heroku):
            json = try SyslogParser.json(from: bytes, dialect: heroku ? .heroku : .rfc5424, limit: outputLimit).json
        }
        return try json.withUnsafeBytes { try IngestBatch.parse($0, receivedAt: receivedAt) }
    }

    /// Most bytes of `ce-*` headers (names and values) a CloudEvent request may carry.
    static let maxCloudEventHeaderBytes = 8 * 1024

    /// A CloudEvent's `ce-*` headers (binary content mode) added to every event, as Logflare does:
    /// `cloud_event` holds them all (dashes as underscores), `timestamp` is `ce-time`, which is also
    /// the events' time when it is a valid RFC 3339 time.
    static func withCloudEvent(_ batch: IngestBatch, _ headers: HTTPFields, receivedAt: Date) throws -> IngestBatch {
        var attributes: [String: String] = [:]
        var headerBytes = 0
        for field in headers {
            let name = field.name.canonicalName
            guard name.hasPrefix("ce-"), name.count > 3 else { continue }
            attributes[String(name.dropFirst(3)).replacingOccurrences(of: "-", with: "_")] = field.value
            headerBytes += name.utf8.count + field.value.utf8.count
        }
        // Every event gets a copy: bounded, so that headers cannot multiply what a body stores.
        guard headerBytes <= Self.maxCloudEventHeaderBytes else {
            throw KeyflareError.badRequest("the ce-* headers take more than \(Self.maxCloudEventHeaderBytes) bytes")
        }
        var added: [String: Any] = ["cloud_event": attributes]
        var stamped = batch
        if let time = attributes["time"] {
            added["timestamp"] = time
            stamped = batch.stamped(RFC3339.parse(time) ?? receivedAt)
        }
        let data = try JSONSerialization.data(withJSONObject: added, options: [.sortedKeys])
        let (total, overflow) = data.count.multipliedReportingOverflow(by: batch.count)
        guard !overflow, total + batch.json.utf8.count <= IngestBatch.maxBodyBytes else {
            throw KeyflareError.payloadTooLarge(
                "the ce-* headers copied into each of \(batch.count) events would store more than 10 MiB; send fewer events per request")
        }
        stamped.addedFields = String(decoding: data, as: UTF8.self)
        return stamped
    }

    /// The `Content-Type` without its parameters, lower-cased.
    static func mediaType(_ request: Request) -> String? {
        request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
    }

    /// The most memory a request's body can take, taken from the budget before it is read: what is
    /// sent (a body of unknown length up to the limit), plus what gzip inflates it to (about 1,032
    /// times at most), plus for other encodings than JSON the JSON text it is turned into and its
    /// copy as a `String`. Converted formats grow by a bounded factor per byte (BERT's one-byte
    /// `[]`, protobuf's tags; OTLP copies a record's resource and scope into it), so their output is
    /// limited to 64 times the decoded body (and 10 MiB), which is also what they may produce.
    static func worstCase(_ request: Request, growth: Growth = .none) -> (reserved: Int, outputLimit: Int) {
        let limit = IngestBatch.maxBodyBytes
        let sent = request.headers[.contentLength].flatMap { Int($0) }.map { min(max($0, 0), limit) } ?? limit
        var decoded = sent
        var total = sent
        switch request.headers[.contentEncoding]?.lowercased().trimmingCharacters(in: .whitespaces) {
        case nil, "", "identity":
            break
        default:
            let (inflated, overflow) = sent.multipliedReportingOverflow(by: 1_032)
            decoded = overflow ? limit : min(inflated, limit)
            total += decoded
        }
        switch growth {
        case .none:
            return (total, limit)
        case .ndjson:
            return (total + 2 * decoded, limit)
        case .converted, .otlp:
            let (grown, overflow) = decoded.multipliedReportingOverflow(by: 64)
            let output = overflow ? limit : min(grown, limit)
            // Output buffers grow by doubling (up to twice the output while the last growth copies),
            // plus the String the batch keeps; OTLP also holds one resource's and one scope's JSON.
            return (total + (growth == .otlp ? 6 : 3) * output, output)
        }
    }

    /// The source named by the query string (names first, then ids, as Logflare orders them), else
    /// by the `X-Source` or `X-Collection` header; nil when none names one. A malformed id is a 400,
    /// also in a header that a query parameter takes precedence over.
    static func reference(query: QueryString, headers: HTTPFields) throws -> SourceReference? {
        var fromHeaders: SourceReference?
        for name in sourceHeaders {
            guard let value = headers[name], !value.isEmpty else { continue }
            guard let id = UUID(uuidString: value) else { throw KeyflareError.badRequest("\(name) must be a source id (a UUID)") }
            if fromHeaders == nil { fromHeaders = .id(id) }
        }
        // Every one given is checked, also those that a parameter before them takes precedence over.
        var fromQuery: SourceReference?
        for parameter in sourceParameters {
            guard let value = query[parameter], !value.isEmpty else { continue }
            let reference = try reference(parameter, value)
            if fromQuery == nil { fromQuery = reference }
        }
        return fromQuery ?? fromHeaders
    }

    /// The source named by the body's own top-level members, in the same order.
    static func reference(body: IngestScanner.SourceFields) throws -> SourceReference? {
        let given = [
            ("source_name", body.sourceName), ("collection_name", body.collectionName), ("source", body.source),
            ("collection", body.collection),
        ]
        var found: SourceReference?
        for case let (field, value?) in given where !value.isEmpty {
            guard value != IngestScanner.SourceFields.tooLong else {
                throw KeyflareError.badRequest("\(field) in the body is too long to name a source")
            }
            let reference = try reference(field, value)
            if found == nil { found = reference }
        }
        return found
    }

    private static func reference(_ field: String, _ value: String) throws -> SourceReference {
        if field.hasSuffix("_name") {
            guard !value.utf8.contains(0) else { throw KeyflareError.badRequest("\(field) contains a NUL character") }
            return .name(value)
        }
        guard let id = UUID(uuidString: value) else { throw KeyflareError.badRequest("\(field) must be a source id (a UUID)") }
        return .id(id)
    }

    /// The account's source, through the recent-sources cache for ids; 404 for any other.
    private func resolve(_ reference: SourceReference, _ context: TokenContext) async throws -> Source {
        let accountID = context.token.accountID
        let found: Source?
        switch reference {
        case .id(let id):
            found = try await sourceCache.source(id: id, accountID: accountID) { try await sources.find(id: id, accountID: accountID) }
        case .name(let name):
            found = try await sources.find(name: name, accountID: accountID)
        }
        guard let found else { throw Self.notFound }
        return found
    }
    /// The body, gunzipped when `Content-Encoding: gzip`, at most 10 MiB either way.
    private func readBody(_ request: Request) async throws -> ByteBuffer {
        let limit = IngestBatch.maxBodyBytes
        let tooLarge = KeyflareError.payloadTooLarge("the request body is over \(limit / 1024 / 1024) MiB")
        var buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw tooLarge
        }
        switch request.headers[.contentEncoding]?.lowercased().trimmingCharacters(in: .whitespaces) {
        case nil, "", "identity":
            return buffer
        case "gzip", "x-gzip":
            do {
                // maxSize bounds the allocation, but buffers may round their capacity up, so the
                // inflated size is checked again.
                let inflated = try buffer.decompress(with: .gzip(), maxSize: limit)
                guard inflated.readableBytes <= limit else { throw tooLarge }
                return inflated
            } catch let error as KeyflareError {
                throw error
            } catch let error as CompressNIOError where error == .bufferOverflow {
                throw tooLarge
            } catch {
                throw KeyflareError.badRequest("the body is not valid gzip")
            }
        case let other?:
            throw KeyflareError.unsupportedMediaType("Content-Encoding \(other.prefix(40)) is not supported; use gzip")
        }
    }
}
