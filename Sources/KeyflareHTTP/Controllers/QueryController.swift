import Foundation
import Hummingbird
import KeyflareCore
import NIOCore

/// `GET|POST /api/endpoints/query/{id or name}`: run a saved query.
///
/// The token is optional here, because an endpoint with `enable_auth` false answers without one;
/// a token that is presented is still verified first (an invalid one is a 401).
/// - With a token, the endpoint is looked up in its account by id or name (404 otherwise), and an
///   endpoint that needs auth needs `query`, `query:endpoint:<id>` or `management` (403 otherwise).
/// - Without one, only a public endpoint's id works; anything else is 401 "missing", so an anonymous
///   caller learns nothing about which endpoints exist.
struct QueryController {
    let endpoints: any EndpointManaging
    let sandbox: any EndpointRunning
    static let notFound = KeyflareError.notFound("endpoint not found")

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("/endpoints/query/:endpoint") { request, context in
            let endpoint = try await resolve(context)
            let query = QueryString(request)
            try query.requireNoNUL()
            var values: [String: String?] = [:]
            for (key, value) in query.pairs where key != "api_key" && values[key] == nil {
                values[key] = value
            }
            return try await run(endpoint, values: values)
        }
        group.post("/endpoints/query/:endpoint") { request, context in
            let endpoint = try await resolve(context)
            return try await run(endpoint, values: try await Self.bodyParameters(request))
        }
    }

    /// `sql` is a caller's statement over a sandboxable endpoint's CTEs, unless the endpoint's own
    /// SQL has an `@sql` parameter (then it is that parameter, as before sandboxing existed).
    private func run(_ endpoint: Endpoint, values: [String: String?]) async throws -> Response {
        var values = values
        var callerSQL: String?
        if !endpoint.parameters.contains("sql"), let given = values.removeValue(forKey: "sql") {
            guard let given else { throw KeyflareError.badRequest("sql must be a string") }
            callerSQL = given
        }
        let rows = try await sandbox.run(endpoint, values: values, callerSQL: callerSQL)
        // The rows are JSON text from PostgreSQL; they go out as they are, without a decode and re-encode.
        var buffer = ByteBuffer()
        buffer.writeString(#"{"result":"#)
        buffer.writeString(rows)
        buffer.writeString("}")
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: buffer))
    }

    private func resolve(_ context: AppRequestContext) async throws -> Endpoint {
        guard let key = context.parameters.get("endpoint") else { throw Self.notFound }
        if let token = context.token {
            if let endpoint = try await endpoints.find(idOrName: key, accountID: token.accountID) {
                if endpoint.enableAuth { try token.requireQuery(endpoint: endpoint.id) }
                context.used(.query(endpoint.id))
                return endpoint
            }
            if let id = UUID(uuidString: key), let endpoint = try await endpoints.findPublic(id: id) { return endpoint }
            throw Self.notFound
        }
        guard let id = UUID(uuidString: key), let endpoint = try await endpoints.findPublic(id: id) else {
            throw TokenRejection.missing
        }
        return endpoint
    }

    /// A JSON object body: strings as they are, numbers and booleans as text, null as NULL, and
    /// arrays or objects as JSON text.
    static func bodyParameters(_ request: Request) async throws -> [String: String?] {
        let buffer = try await request.body.collect(upTo: RequestBody.maxManagementBytes)
        guard buffer.readableBytes > 0 else { return [:] }
        let data = Data(buffer: buffer)
        // Counted before parsing, so a megabyte of nested arrays cannot make the parser build them.
        let containers = data.reduce(0) { $0 + ($1 == UInt8(ascii: "{") || $1 == UInt8(ascii: "[") ? 1 : 0) }
        guard containers <= RequestBody.maxContainers else {
            throw KeyflareError.payloadTooLarge("the body holds more than \(RequestBody.maxContainers) objects and arrays")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw KeyflareError.badRequest("the body must be a JSON object of parameters")
        }
        var values: [String: String?] = [:]
        for (key, value) in object {
            switch value {
            case is NSNull: values[key] = .some(nil)
            case let text as String:
                guard !text.utf8.contains(0) else {
                    throw KeyflareError.unprocessable("\"\(QueryString.shown(key))\" contains a NUL character (\\u0000), which cannot be sent")
                }
                values[key] = text
            case let flag as Bool: values[key] = flag ? "true" : "false"
            case let number as NSNumber: values[key] = number.stringValue
            default:
                let data = try JSONSerialization.data(withJSONObject: value)
                values[key] = String(decoding: data, as: UTF8.self)
            }
        }
        return values
    }
}
