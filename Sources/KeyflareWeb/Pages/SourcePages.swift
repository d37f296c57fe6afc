import Foundation
import HTTPTypes
import Hummingbird
import KeyflareCore
import KeyflareStore

/// `/console/sources`: list with counts, create, rename, delete; curl examples for each source.
struct SourcePages {
    let sources: SourceStore
    let base: String
    static let notFound = KeyflareError.notFound("There is no such source in your account.")

    func addRoutes(to group: RouterGroup<ConsoleContext>) {
        group.get("/sources") { request, context -> Response in
            try await page(context, flash: Flash.message(request, in: Flash.sources))
        }
        group.post("/sources") { request, context -> Response in
            let form = try await ConsoleForm.read(request, context)
            do {
                _ = try await sources.create(name: form["name"] ?? "", accountID: context.session.accountID, actor: context.actor(request))
                return Page.redirect("/console/sources?done=created")
            } catch let error as KeyflareError where error.status != .notFound {
                return try await page(context, typed: form["name"] ?? "", error: error.message, status: error.status)
            }
        }
        group.post("/sources/:id/rename") { request, context -> Response in
            let form = try await ConsoleForm.read(request, context)
            let source = try await find(context)
            do {
                _ = try await sources.rename(
                    id: source.id, to: form["name"] ?? "", accountID: context.session.accountID, actor: context.actor(request))
                return Page.redirect("/console/sources?done=renamed")
            } catch let error as KeyflareError where error.status != .notFound {
                return try await page(context, error: "Could not rename \(source.name): \(error.message)", status: error.status)
            }
        }
        group.get("/sources/:id/delete") { _, context -> Response in
            let source = try await find(context)
            let id = source.id.uuidString.lowercased()
            return Page.render(
                "confirm-delete", title: "Delete source", session: context.session, nav: "sources",
                values: [
                    "kind": "source", "name": source.name, "warning": "and all of its events", "action": "/console/sources/\(id)/delete",
                    "back": "/console/sources",
                ])
        }
        group.post("/sources/:id/delete") { request, context -> Response in
            _ = try await ConsoleForm.read(request, context)
            let source = try await find(context)
            _ = try await sources.delete(id: source.id, accountID: context.session.accountID, actor: context.actor(request))
            return Page.redirect("/console/sources?done=deleted")
        }
    }

    private func find(_ context: ConsoleContext) async throws -> Source {
        guard let text = context.parameters.get("id"), let id = UUID(uuidString: text),
            let source = try await sources.find(id: id, accountID: context.session.accountID)
        else { throw Self.notFound }
        return source
    }

    private func page(
        _ context: ConsoleContext, typed: String = "", flash: String? = nil, error: String? = nil, status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let rows = try await sources.listWithStats(accountID: context.session.accountID).map { item -> [String: Any] in
            [
                "id": item.source.id.uuidString.lowercased(), "name": item.source.name, "count": item.events,
                "newest": Page.time(item.newest), "csrf": context.session.csrfToken, "base": base,
            ]
        }
        return Page.render(
            "sources", title: "Sources", session: context.session, nav: "sources", status: status,
            values: ["sources": rows, "form": ["name": typed]], flash: flash, error: error)
    }
}
