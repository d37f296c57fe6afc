import Foundation
import Hummingbird
import KeyflareCore
import KeyflareStore

/// `GET|POST /api/endpoints/query/{id or name}`.
///
/// Authorization is complete here (the endpoint is resolved in the token's account, then `query`,
/// `query:endpoint:<id>` or `management` is required). Running the SQL arrives with the endpoints
/// issue; until then an authorized request gets 501.
struct QueryController {
    let endpoints: EndpointStore
    static let notFound = KeyflareError.notFound("endpoint not found")

    func addRoutes(to group: RouterGroup<TokenContext>) {
        group.get("/endpoints/query/:endpoint") { request, context in try await run(request, context) }
        group.post("/endpoints/query/:endpoint") { request, context in try await run(request, context) }
    }

    func run(_ request: Request, _ context: TokenContext) async throws -> Response {
        guard let idOrName = context.parameters.get("endpoint"),
            let endpoint = try await endpoints.find(idOrName: idOrName, accountID: context.token.accountID)
        else { throw Self.notFound }
        try context.token.requireQuery(endpoint: endpoint.id)
        return ErrorResponse.response(status: .notImplemented, message: "running query endpoints is not available yet")
    }
}
