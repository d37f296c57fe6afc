import Hummingbird
import KeyflareCore

/// The routes a page may call with a public token: the browser-callable ingest routes
/// (`IngestRoute`) and every endpoint query.
enum PublicRoutes {
    static let paths = Set(IngestRoute.browserPaths)
    static let queryPrefix = "/api/endpoints/query/"

    static func contains(_ path: String) -> Bool { paths.contains(path) || path.hasPrefix(queryPrefix) }
}

/// CORS for the routes a browser calls with a public token (ingest and query): preflights are
/// answered here, before authentication, and every response carries `Access-Control-Allow-Origin`.
/// The management API gets no CORS headers: private tokens must not be used from pages.
struct PublicCORSMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Whether `path` is one of the routes a page may call with a public token.
    static func isPublic(_ path: String) -> Bool { PublicRoutes.contains(path) }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        guard Self.isPublic(request.uri.path) else { return try await next(request, context) }
        if request.method == .options {
            var response = Response(status: .noContent)
            addHeaders(&response.headers)
            response.headers[.accessControlAllowMethods] = "GET, POST, OPTIONS"
            response.headers[.accessControlAllowHeaders] =
                "Authorization, X-API-KEY, Content-Type, Content-Encoding, X-Source, X-Collection"
            response.headers[.accessControlMaxAge] = "86400"
            return response
        }
        // ErrorMiddleware runs inside this one, so errors arrive here as responses and get the header
        // too; without it a page could not read a 401 or 403 body.
        var response = try await next(request, context)
        addHeaders(&response.headers)
        return response
    }

    /// `*`, unless the token's origin list already named one origin (`TokenAuthenticator`).
    private func addHeaders(_ headers: inout HTTPFields) {
        if headers[.accessControlAllowOrigin] == nil { headers[.accessControlAllowOrigin] = "*" }
        headers[.vary] = "Origin"
    }
}
