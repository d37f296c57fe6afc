import HTTPTypes
import Hummingbird
import KeyflareCore

/// The management API's routes, in one place for the rules every one of them follows: the query
/// string may hold only the parameters the route names (422 otherwise), and the handler runs only
/// for a token with `management` (403 otherwise).
///
/// A route that names one of the account's resources resolves it first and only then checks the
/// scope (404 before 403): a resource of another account, or none at all, answers exactly like a
/// missing one, whatever the token. A route that names none checks the scope first.
struct ManagementRoutes {
    let group: RouterGroup<TokenContext>

    /// A route that names no resource.
    /// - Parameters:
    ///   - path: the route.
    ///   - method: its method.
    ///   - query: the query parameters it takes.
    ///   - handler: what it does, for a management token.
    func on(
        _ path: RouterPath, method: HTTPRequest.Method, query: Set<String> = [],
        handler: @escaping @Sendable (Request, TokenContext) async throws -> Response
    ) {
        group.on(path, method: method) { request, context -> Response in
            try QueryString(request).requireOnly(query)
            try context.token.requireManagement()
            context.used(.management)
            return try await handler(request, context)
        }
    }

    /// A route that names a resource of the caller's account.
    /// - Parameters:
    ///   - path: the route.
    ///   - method: its method.
    ///   - query: the query parameters it takes.
    ///   - resolve: finds the resource in the caller's account, or throws 404.
    ///   - handler: what it does with it, for a management token.
    func on<Resource>(
        _ path: RouterPath, method: HTTPRequest.Method, query: Set<String> = [],
        resolve: @escaping @Sendable (Request, TokenContext) async throws -> Resource,
        handler: @escaping @Sendable (Request, TokenContext, Resource) async throws -> Response
    ) {
        group.on(path, method: method) { request, context -> Response in
            try QueryString(request).requireOnly(query)
            let resource = try await resolve(request, context)
            try context.token.requireManagement()
            context.used(.management)
            return try await handler(request, context, resource)
        }
    }
}
