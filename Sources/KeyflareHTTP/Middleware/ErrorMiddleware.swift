import Hummingbird
import KeyflareCore
import Logging

/// The outermost middleware: every error becomes Keyflare's JSON error body.
///
/// - `KeyflareError` maps to its own status and message.
/// - Hummingbird's `HTTPError` (unknown route, body too large, undecodable JSON) keeps its status,
///   except that a known path asked with a method it does not answer is a 405 with `Allow`.
/// - A database failure maps as `mapFailure` says (the composition passes storage's `DatabaseErrors`:
///   503 for a busy pool or an unreachable database).
/// - Anything else is unexpected: it is logged in full (`String(reflecting:)`) and the client gets a
///   generic 500 that reveals nothing about the internals.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The registered paths and their methods, for 405s.
    var routes = RouteTable()
    /// Turns a database failure, which this target cannot name, into its domain error.
    let mapFailure: FailureMapping

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as KeyflareError {
            return try error.response(from: request, context: context)
        } catch let error as HTTPError where error.status == .notFound {
            let allowed = routes.methods(for: request.uri.path)
            guard !allowed.isEmpty, !allowed.contains(request.method) else {
                return ErrorResponse.response(status: .notFound, message: error.body ?? defaultMessage(.notFound, request: request))
            }
            var methods = allowed
            // The public routes answer preflights in PublicCORSMiddleware, outside the router.
            if PublicCORSMiddleware<Context>.isPublic(request.uri.path) { methods.insert(.options) }
            let list = methods.map(\.rawValue).sorted().joined(separator: ", ")
            return ErrorResponse.response(
                status: .methodNotAllowed, message: "\(request.method) is not allowed here; this path answers \(list)",
                headers: [.allow: list])
        } catch let error as HTTPError {
            return ErrorResponse.response(
                status: error.status,
                message: error.body ?? defaultMessage(error.status, request: request),
                headers: error.headers
            )
        } catch let error as any HTTPResponseError {
            // Other framework errors, such as NIOTooManyBytesError (413) from a body over its limit.
            return ErrorResponse.response(status: error.status, message: defaultMessage(error.status, request: request))
        } catch let error where mapFailure(error) != nil {
            let mapped = mapFailure(error)!
            if mapped.worthAWarning {
                context.logger.warning("database failure", metadata: ["error": "\(error)", "answer": "\(mapped.error.message)"])
            }
            return try mapped.error.response(from: request, context: context)
        } catch {
            context.logger.error(
                "unexpected error",
                metadata: ["error": "\(String(reflecting: error))", "path": "\(Self.loggable(request.uri.path))"]
            )
            return ErrorResponse.response(status: .internalServerError, message: "an unexpected error occurred")
        }
    }

    /// The path as it may be logged: `DELETE /api/access-tokens/{token}` may carry a secret in it.
    static func loggable(_ path: String) -> String {
        path.hasPrefix("/api/access-tokens/") ? "/api/access-tokens/…" : path
    }

    private func defaultMessage(_ status: HTTPResponse.Status, request: Request) -> String {
        switch status {
        // The path only: the query string may carry an api_key.
        case .notFound: "no route matches \(request.method) \(request.uri.path)"
        case .contentTooLarge: "the request body is too large"
        case .methodNotAllowed: "\(request.method) is not allowed here"
        default: status.reasonPhrase
        }
    }
}
