import Foundation
import HTTPTypes
import Hummingbird
import KeyflareCore
import KeyflareStore

/// `/console/webhooks`: list, create (the secret shown once), delete; `/console/webhooks/:id`: one
/// webhook's delivery log. The new secret travels to the page that shows it as the tokens page's
/// does: a short-lived HttpOnly cookie, read and cleared by that one page view.
struct WebhookPages {
    let webhooks: WebhookStore
    let jar: CookieJar
    static let onceCookie = "kf_once_webhook"
    static let path = "/console/webhooks"
    static let notFound = KeyflareError.notFound("There is no such webhook in your account.")
    static let flash = ["created": "Webhook created.", "deleted": "Webhook deleted."]

    func addRoutes(to group: RouterGroup<ConsoleContext>) {
        group.get("/webhooks") { request, context -> Response in
            var headers = HTTPFields()
            var secret: String?
            if let once = CookieJar.value(Self.onceCookie, in: request) {
                headers[.setCookie] = jar.clear(Self.onceCookie, path: Self.path)
                if Self.isSecret(once) { secret = once }
            }
            return try await page(context, secret: secret, flash: Flash.message(request, in: Self.flash), headers: headers)
        }
        group.post("/webhooks") { request, context -> Response in
            let form = try await ConsoleForm.read(request, context)
            do {
                let (_, secret) = try await webhooks.create(
                    url: (form["url"] ?? "").trimmingCharacters(in: .whitespaces), events: form.all("events"),
                    accountID: context.session.accountID, actor: context.actor(request))
                return Page.redirect(
                    Self.path + "?done=created",
                    headers: [.setCookie: jar.set(Self.onceCookie, secret, path: Self.path, maxAge: 120, sameSite: "Strict")])
            } catch let error as KeyflareError where error.status != .notFound {
                return try await page(context, form: form, error: error.message, status: error.status)
            }
        }
        group.get("/webhooks/:id") { _, context -> Response in
            let webhook = try await find(context)
            let rows = try await webhooks.deliveries(webhookID: webhook.id, limit: 100).map { delivery -> [String: Any] in
                [
                    "event": delivery.eventID.uuidString.lowercased(), "type": delivery.type.rawValue,
                    "token": delivery.tokenID?.uuidString.lowercased() ?? "", "status": delivery.status.rawValue,
                    "attempts": delivery.attempts, "lastStatus": delivery.lastStatus.map(String.init) ?? "—",
                    "lastError": delivery.lastError ?? "", "created": Page.time(delivery.createdAt),
                    "lastAttempt": Page.time(delivery.lastAttemptAt),
                    "next": delivery.nextAttemptAt.map { Page.time($0) } ?? "",
                    "delivered": delivery.deliveredAt.map { Page.time($0) } ?? "",
                ]
            }
            return Page.render(
                "webhook", title: "Webhook deliveries", session: context.session, nav: "webhooks",
                values: ["webhook": Self.values(webhook), "deliveries": rows])
        }
        group.get("/webhooks/:id/delete") { _, context -> Response in
            let webhook = try await find(context)
            let id = webhook.id.uuidString.lowercased()
            return Page.render(
                "confirm-delete", title: "Delete webhook", session: context.session, nav: "webhooks",
                values: [
                    "kind": "webhook", "name": webhook.url, "warning": "and its pending deliveries and delivery log",
                    "action": "/console/webhooks/\(id)/delete", "back": Self.path,
                ])
        }
        group.post("/webhooks/:id/delete") { request, context -> Response in
            _ = try await ConsoleForm.read(request, context)
            let webhook = try await find(context)
            _ = try await webhooks.delete(id: webhook.id, accountID: context.session.accountID, actor: context.actor(request))
            return Page.redirect(Self.path + "?done=deleted")
        }
    }

    static func isSecret(_ text: String) -> Bool {
        text.hasPrefix(WebhookSignature.secretPrefix) && text.utf8.count == 70
            && text.utf8.dropFirst(6).allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }

    static func values(_ webhook: Webhook) -> [String: Any] {
        [
            "id": webhook.id.uuidString.lowercased(), "url": webhook.url,
            "events": webhook.events.map(\.rawValue).joined(separator: ", "), "created": Page.time(webhook.createdAt),
        ]
    }

    private func find(_ context: ConsoleContext) async throws -> Webhook {
        guard let text = context.parameters.get("id"), let id = UUID(uuidString: text),
            let webhook = try await webhooks.find(id: id, accountID: context.session.accountID)
        else { throw Self.notFound }
        return webhook
    }

    private func page(
        _ context: ConsoleContext, secret: String? = nil, form: FormData? = nil, flash: String? = nil, error: String? = nil,
        status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]
    ) async throws -> Response {
        let list = try await webhooks.list(accountID: context.session.accountID).map(Self.values)
        let chosen = Set(form?.all("events") ?? [WebhookEventType.tokenRevoked.rawValue])
        let events = WebhookEventType.allCases.map { type -> [String: Any] in
            ["name": type.rawValue, "checked": chosen.contains(type.rawValue)]
        }
        var values: [String: Any] = ["webhooks": list, "events": events, "form": ["url": form?["url"] ?? ""]]
        if let secret { values["secret"] = secret }
        return Page.render(
            "webhooks", title: "Webhooks", session: context.session, nav: "webhooks", status: status, values: values, flash: flash,
            error: error, headers: headers)
    }
}
