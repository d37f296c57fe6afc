import HTTPTypes
import Hummingbird
import KeyflareHTTP

/// Puts the console's security headers on every response under `/console`: pages, redirects,
/// static files and error pages alike.
struct ConsoleHeadersMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    /// Scripts, styles and images from our own origin only; no inline script or `on…` attribute, no
    /// plugins, no framing, forms that post only to us, and no `<base>` to redirect relative URLs.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
        + "frame-ancestors 'none'; base-uri 'none'"

    static let fields: HTTPFields = [
        HTTPField.Name("Content-Security-Policy")!: contentSecurityPolicy,
        HTTPField.Name("X-Frame-Options")!: "DENY",
        HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        HTTPField.Name("Referrer-Policy")!: "same-origin",
    ]

    func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response)
        async throws -> Response
    {
        var response = try await next(request, context)
        for field in Self.fields { response.headers[field.name] = field.value }
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }
}
