import Hummingbird
import NIOCore

/// `GET /api/openapi.json`: the API's OpenAPI 3.1 document (`openapi.yaml`, compiled in as JSON by
/// the EmbedOpenAPI plugin). No token needed: it describes the API, not any account.
struct OpenAPIController<Context: RequestContext> {
    /// The document's bytes, made once.
    static var body: ByteBuffer { ByteBuffer(string: OpenAPIDocument.json) }

    func addRoutes(to router: Router<Context>) {
        let body = Self.body
        router.get("/api/openapi.json") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: body))
        }
    }
}
