import CompressNIO
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import KeyflareCore
import KeyflareStore

/// `POST /api/logs` (and `/logs`, `/api/events`, each with Logflare's integration suffixes): store a
/// batch of events in one source.
///
/// The token was verified before this runs and before the body is read. When the query string or a
/// header names the source, it is resolved in the token's account first (404 for another account's),
/// then the scope is checked (403), and only then is the body read, decompressed and parsed. When
/// only the body names it (as Logflare's Cloudflare worker does), the body is read first, within the
/// same byte budget. Nothing is stored unless every event is valid.
struct IngestController {
    let sources: SourceStore
    let committer: GroupCommitter
    /// Memory for bodies being read, inflated, parsed and committed (`KEYFLARE_INGEST_QUEUE_BYTES`).
    let budget: ByteBudget
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
    }

    func ingest(_ request: Request, _ context: TokenContext, route: IngestRoute) async throws -> Response {
        let receivedAt = Date()
        let query = QueryString(request)
        // As on the management routes, a parameter Keyflare does not know is refused, not ignored.
        try query.requireOnly(Self.knownParameters)
        if Self.mediaType(request) == "application/bert" {
            throw KeyflareError.unsupportedMediaType("BERT bodies (application/bert) are not supported yet; send JSON or NDJSON")
        }
        let ndjson = Self.isNDJSON(request, route: route)
        var source: Source?
        if let named = try Self.reference(query: query, headers: request.headers) {
            source = try await resolve(named, context)
            try context.token.requireIngest(into: source!.id)
        } else if !context.token.canIngestSomewhere {
            // Only the body could name the source, and this token may ingest nowhere: refused before
            // the body is read, which would hold the ingest budget only to be refused after.
            throw KeyflareError.forbidden("this token needs the ingest or ingest:source:<id> scope")
        }
        // The most this request can hold is taken from the budget before its body is read: a
        // gzipped body may inflate about 1,032 times, and a body of unknown length up to the limit.
        let reserved = Self.worstCase(request, ndjson: ndjson)
        guard budget.take(reserved) else {
            throw KeyflareError.unavailable("the ingest queue is full; retry in a moment (nothing was stored)")
        }
        defer { budget.give(reserved) }
        let body = try await readBody(request)
        // Parsed in place: no copy of the body is made until it is known to be acceptable.
        var batch = try body.withUnsafeReadableBytes { bytes in
            ndjson ? try IngestBatch.parseNDJSON(bytes, receivedAt: receivedAt) : try IngestBatch.parse(bytes, receivedAt: receivedAt)
        }
        if source == nil {
            guard let named = try Self.reference(body: batch.source) else {
                throw KeyflareError.badRequest(
                    "no source given: use ?source=<id>, ?source_name=<name>, the X-Source header, or \"source\" in the body")
            }
            source = try await resolve(named, context)
            try context.token.requireIngest(into: source!.id)
        }
        if !route.eventTimestamps { batch = batch.stamped(receivedAt) }
        batch.mapping = route.mapping
        do {
            try await committer.insert(batch, sourceID: source!.id, accountID: context.token.accountID)
        } catch let error as KeyflareError where error.status == .notFound {
            sourceCache.forget(id: source!.id, accountID: context.token.accountID)
            throw error
        }
        return Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: Self.logged))
    }

    /// `application/x-ndjson` on any route; `text/plain` where the route says so (Cloudflare Logpush).
    static func isNDJSON(_ request: Request, route: IngestRoute) -> Bool {
        let type = mediaType(request)
        return type == "application/x-ndjson" || (route.textIsNDJSON && type == "text/plain")
    }

    /// The `Content-Type` without its parameters, lower-cased.
    static func mediaType(_ request: Request) -> String? {
        request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
    }

    /// The most memory a request's body can take: what is sent, plus what it inflates to, plus the
    /// JSON array an NDJSON body is turned into.
    static func worstCase(_ request: Request, ndjson: Bool = false) -> Int {
        let limit = IngestBatch.maxBodyBytes
        let sent = request.headers[.contentLength].flatMap { Int($0) }.map { min($0, limit) } ?? limit
        let decoded: Int
        switch request.headers[.contentEncoding]?.lowercased().trimmingCharacters(in: .whitespaces) {
        case nil, "", "identity":
            decoded = sent
        default:
            let (inflated, overflow) = sent.multipliedReportingOverflow(by: 1_032)
            decoded = overflow ? limit : min(inflated, limit)
            return sent + decoded + (ndjson ? 2 * decoded : 0)
        }
        return sent + (ndjson ? 2 * decoded : 0)
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
