import Foundation
import Hummingbird
import KeyflareCore

/// `/api/sources`: an account's sources. Management only. A source of another account answers
/// exactly like one that does not exist.
struct SourceController {
    let sources: any SourceManaging
    static let notFound = KeyflareError.notFound("source not found")

    struct NameRequest: RequestFields {
        static let fields: Set<String> = ["name"]
        let name: String
    }

    func addRoutes(to group: RouterGroup<TokenContext>) {
        let routes = ManagementRoutes(group: group)
        routes.on("/sources", method: .get) { request, context -> Response in
            let list = try await sources.list(accountID: context.token.accountID)
            return try JSONResponse.make(list.map(SourceJSON.init))
        }
        routes.on("/sources", method: .post) { request, context -> Response in
            let body = try await RequestBody.decode(NameRequest.self, from: request)
            let source = try await sources.create(name: body.name, accountID: context.token.accountID, actor: context.actor(request))
            return try JSONResponse.make(SourceJSON(source: source), status: .created)
        }
        routes.on("/sources/:id", method: .get, resolve: find) { _, _, source -> Response in
            try JSONResponse.make(SourceJSON(source: source))
        }
        routes.on("/sources/:id", method: .patch, resolve: find) { request, context, source -> Response in
            let body = try await RequestBody.decode(NameRequest.self, from: request)
            guard let renamed = try await sources.rename(
                id: source.id, to: body.name, accountID: context.token.accountID, actor: context.actor(request))
            else { throw Self.notFound }
            return try JSONResponse.make(SourceJSON(source: renamed))
        }
        routes.on("/sources/:id", method: .delete, resolve: find) { request, context, source -> Response in
            guard try await sources.delete(id: source.id, accountID: context.token.accountID, actor: context.actor(request)) else { throw Self.notFound }
            return Response(status: .noContent)
        }
    }

    /// The account's source named by the path, or 404: resolved before the scope check, so the answer
    /// for another account's source never differs from a missing one.
    @Sendable private func find(_ request: Request, _ context: TokenContext) async throws -> Source {
        let id = try request.uuidParameter("id", context: context, notFound: Self.notFound)
        guard let source = try await sources.find(id: id, accountID: context.token.accountID) else { throw Self.notFound }
        return source
    }
}
