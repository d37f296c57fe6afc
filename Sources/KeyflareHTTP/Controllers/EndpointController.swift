import Foundation
import Hummingbird
import KeyflareCore

/// `/api/endpoints`: an account's saved queries. Management only. SQL is checked in the account's
/// sandbox before it is saved (by `EndpointManaging`), so a query that cannot run is refused with PostgreSQL's message.
struct EndpointController {
    /// The account's endpoints; create and update check the SQL in the sandbox (the console shares
    /// the check).
    let endpoints: any EndpointManaging
    static let notFound = KeyflareError.notFound("endpoint not found")

    /// Create and update body; on PATCH every field is optional.
    struct EndpointRequest: RequestFields {
        static let fields = names(CodingKeys.self)
        let name: String?
        let description: String?
        let sql: String?
        let enableAuth: Bool?
        let maxLimit: Int?
        let sandboxable: Bool?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case name, description, sql, enableAuth = "enable_auth", maxLimit = "max_limit", sandboxable
        }

        /// The fields merged over `base` and validated (SQL excepted: the sandbox checks that).
        func draft(over base: Endpoint?) throws -> EndpointDraft {
            guard let name = name ?? base?.name else { throw KeyflareError.badRequest("\"name\" is required") }
            guard let sql = sql ?? base?.sql else { throw KeyflareError.badRequest("\"sql\" is required") }
            let description = description ?? base?.description ?? ""
            guard description.unicodeScalars.count <= 2000 else { throw KeyflareError.unprocessable("description must be at most 2000 characters") }
            return EndpointDraft(
                name: try Endpoint.validateName(name), description: description, sql: sql,
                enableAuth: enableAuth ?? base?.enableAuth ?? true,
                maxLimit: try Endpoint.validateMaxLimit(maxLimit ?? base?.maxLimit ?? Endpoint.defaultMaxLimit),
                sandboxable: sandboxable ?? base?.sandboxable ?? false
            )
        }
    }

    func addRoutes(to group: RouterGroup<TokenContext>) {
        let routes = ManagementRoutes(group: group)
        routes.on("/endpoints", method: .get) { _, context -> Response in
            try JSONResponse.make(try await endpoints.list(accountID: context.token.accountID).map(EndpointJSON.init))
        }
        routes.on("/endpoints", method: .post) { request, context -> Response in
            let draft = try await RequestBody.decode(EndpointRequest.self, from: request).draft(over: nil)
            let endpoint = try await endpoints.create(draft, accountID: context.token.accountID, actor: context.actor(request))
            return try JSONResponse.make(EndpointJSON(endpoint: endpoint), status: .created)
        }
        routes.on("/endpoints/:id", method: .get, resolve: find) { _, _, endpoint -> Response in
            try JSONResponse.make(EndpointJSON(endpoint: endpoint))
        }
        routes.on("/endpoints/:id", method: .patch, resolve: find) { request, context, existing -> Response in
            let draft = try await RequestBody.decode(EndpointRequest.self, from: request).draft(over: existing)
            guard let updated = try await endpoints.update(
                existing, with: draft, accountID: context.token.accountID, actor: context.actor(request))
            else { throw Self.notFound }
            return try JSONResponse.make(EndpointJSON(endpoint: updated))
        }
        routes.on("/endpoints/:id", method: .delete, resolve: find) { request, context, endpoint -> Response in
            guard try await endpoints.delete(id: endpoint.id, accountID: context.token.accountID, actor: context.actor(request)) else { throw Self.notFound }
            return Response(status: .noContent)
        }
    }

    @Sendable private func find(_ request: Request, _ context: TokenContext) async throws -> Endpoint {
        let id = try request.uuidParameter("id", context: context, notFound: Self.notFound)
        guard let endpoint = try await endpoints.find(idOrName: id.uuidString, accountID: context.token.accountID)
        else { throw Self.notFound }
        return endpoint
    }
}
