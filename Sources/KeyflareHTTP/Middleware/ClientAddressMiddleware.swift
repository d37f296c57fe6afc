import HTTPTypes
import Hummingbird
import KeyflareCore

/// Sets `context.client` from a trusted proxy's forwarding header (`KEYFLARE_TRUSTED_PROXIES`).
/// Installed only when some proxy is trusted: otherwise the TCP peer, which the context already
/// holds, is the client, and requests pay nothing.
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let resolver: ClientAddressResolver
    let header: HTTPField.Name

    init(resolver: ClientAddressResolver) {
        self.resolver = resolver
        self.header = HTTPField.Name(resolver.header.rawValue)!
    }

    func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response)
        async throws -> Response
    {
        var context = context
        context.client.resolve(resolver.resolve(peer: context.clientIP, values: request.headers[values: header]))
        return try await next(request, context)
    }
}
