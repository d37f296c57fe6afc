import Foundation
import Hummingbird
import KeyflareCore

/// `/api/webhooks`: an account's webhooks and their delivery logs. Management only. A webhook of
/// another account answers exactly like one that does not exist.
struct WebhookController {
    let webhooks: any WebhookManaging
    static let notFound = KeyflareError.notFound("webhook not found")

    struct CreateRequest: RequestFields {
        static let fields: Set<String> = ["url", "events"]
        let url: String
        let events: [String]
    }

    func addRoutes(to group: RouterGroup<TokenContext>) {
        let routes = ManagementRoutes(group: group)
        routes.on("/webhooks", method: .get) { _, context -> Response in
            try JSONResponse.make(try await webhooks.list(accountID: context.token.accountID).map { WebhookJSON(webhook: $0) })
        }
        routes.on("/webhooks", method: .post) { request, context -> Response in
            let body = try await RequestBody.decode(CreateRequest.self, from: request)
            let (webhook, secret) = try await webhooks.create(
                url: body.url, events: body.events, accountID: context.token.accountID, actor: context.actor(request))
            return try JSONResponse.make(WebhookJSON(webhook: webhook, secret: secret), status: .created)
        }
        routes.on("/webhooks/:id", method: .get, resolve: find) { _, _, webhook -> Response in
            try JSONResponse.make(WebhookJSON(webhook: webhook))
        }
        routes.on("/webhooks/:id", method: .delete, resolve: find) { request, context, webhook -> Response in
            guard try await webhooks.delete(id: webhook.id, accountID: context.token.accountID, actor: context.actor(request)) else {
                throw Self.notFound
            }
            return Response(status: .noContent)
        }
        routes.on("/webhooks/:id/deliveries", method: .get, query: ["limit"], resolve: find) { request, _, webhook -> Response in
            var limit = 50
            if let text = QueryString(request)["limit"] {
                guard let value = Int(String(text)), (1...500).contains(value) else {
                    throw KeyflareError.badRequest("limit must be a whole number from 1 to 500")
                }
                limit = value
            }
            let log = try await webhooks.deliveries(webhookID: webhook.id, limit: limit)
            return try JSONResponse.make(log.map(WebhookDeliveryJSON.init))
        }
    }

    /// The account's webhook named by the path, or 404, resolved before the scope check.
    @Sendable private func find(_ request: Request, _ context: TokenContext) async throws -> Webhook {
        let id = try request.uuidParameter("id", context: context, notFound: Self.notFound)
        guard let webhook = try await webhooks.find(id: id, accountID: context.token.accountID) else { throw Self.notFound }
        return webhook
    }
}
