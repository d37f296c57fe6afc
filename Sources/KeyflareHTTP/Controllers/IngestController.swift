import CompressNIO
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import KeyflareCore
import KeyflareStore

/// `POST /api/logs` (and `/logs`, `/api/events`): store a batch of events in one source.
///
/// The token was verified before this runs and before the body is read. The source is resolved in
/// the token's account first (404 for another account's), then the scope is checked (403), and only
/// then is the body read, decompressed and parsed. Nothing is stored unless every event is valid.
struct IngestController {
    let sources: SourceStore
    let committer: GroupCommitter
    /// Memory for bodies being read, inflated, parsed and committed (`KEYFLARE_INGEST_QUEUE_BYTES`).
    let budget: ByteBudget
    let sourceCache = SourceCache()
    static let notFound = KeyflareError.notFound("source not found")
    static let sourceHeader = HTTPField.Name("X-Source")!

    /// The success body, made once.
    static let logged = ByteBuffer(string: #"{"message":"Logged!"}"#)

    func addRoutes(to router: RouterGroup<TokenContext>, paths: [RouterPath]) {
        for path in paths {
            router.post(path) { request, context -> Response in try await ingest(request, context) }
        }
    }

    func ingest(_ request: Request, _ context: TokenContext) async throws -> Response {
        let receivedAt = Date()
        let source = try await resolveSource(request, context)
        try context.token.requireIngest(into: source.id)
        // The most this request can hold is taken from the budget before its body is read: a
        // gzipped body may inflate about 1,032 times, and a body of unknown length up to the limit.
        let reserved = Self.worstCase(request)
        guard budget.take(reserved) else {
            throw KeyflareError.unavailable("the ingest queue is full; retry in a moment (nothing was stored)")
        }
        defer { budget.give(reserved) }
        let body = try await readBody(request)
        // Parsed in place: no copy of the body is made until it is known to be acceptable.
        let batch = try body.withUnsafeReadableBytes { try IngestBatch.parse($0, receivedAt: receivedAt) }
        do {
            try await committer.insert(batch, sourceID: source.id, accountID: context.token.accountID)
        } catch let error as KeyflareError where error.status == .notFound {
            sourceCache.forget(id: source.id, accountID: context.token.accountID)
            throw error
        }
        return Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: Self.logged))
    }

    /// The most memory a request's body can take: what is sent, plus what it inflates to.
    static func worstCase(_ request: Request) -> Int {
        let limit = IngestBatch.maxBodyBytes
        let sent = request.headers[.contentLength].flatMap { Int($0) }.map { min($0, limit) } ?? limit
        switch request.headers[.contentEncoding]?.lowercased().trimmingCharacters(in: .whitespaces) {
        case nil, "", "identity": return sent
        default:
            let (inflated, overflow) = sent.multipliedReportingOverflow(by: 1_032)
            return sent + (overflow ? limit : min(inflated, limit))
        }
    }

    /// `?source=<uuid>`, else `?source_name=<name>`, else the `X-Source: <uuid>` header.
    private func resolveSource(_ request: Request, _ context: TokenContext) async throws -> Source {
        let accountID = context.token.accountID
        let query = QueryString(request)
        // As on the management routes, a parameter Keyflare does not know is refused, not ignored.
        try query.requireOnly(["source", "source_name"])
        /// A source id given as `field`, looked up through the recent-sources cache.
        func byID(_ value: String, given field: String) async throws -> Source? {
            guard let id = UUID(uuidString: value) else { throw KeyflareError.badRequest("\(field) must be a source id (a UUID)") }
            return try await sourceCache.source(id: id, accountID: accountID) { try await sources.find(id: id, accountID: accountID) }
        }
        // A malformed X-Source is refused even when a query parameter takes precedence over it: a
        // client that sends one must learn it is wrong, not have it ignored.
        let header = request.headers[Self.sourceHeader].flatMap { $0.isEmpty ? nil : $0 }
        if let header, UUID(uuidString: header) == nil { throw KeyflareError.badRequest("X-Source must be a source id (a UUID)") }
        let found: Source?
        if let value = query["source"], !value.isEmpty {
            found = try await byID(value, given: "source")
        } else if let name = query["source_name"], !name.isEmpty {
            guard !name.utf8.contains(0) else { throw KeyflareError.badRequest("source_name contains a NUL character") }
            found = try await sources.find(name: name, accountID: accountID)
        } else if let header {
            found = try await byID(header, given: "X-Source")
        } else {
            throw KeyflareError.badRequest("no source given: use ?source=<id>, ?source_name=<name> or the X-Source header")
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
