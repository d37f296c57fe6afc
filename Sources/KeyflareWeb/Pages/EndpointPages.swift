import Foundation
import HTTPTypes
import Hummingbird
import KeyflareCore
import KeyflareStore

/// `/console/endpoints`: list, create, edit, run and delete saved queries.
struct EndpointPages {
    let endpoints: EndpointStore
    let sandbox: QuerySandbox
    /// Create and update, with the SQL check the API shares.
    var catalog: EndpointCatalog { EndpointCatalog(store: endpoints, sandbox: sandbox) }
    let base: String
    static let notFound = KeyflareError.notFound("There is no such endpoint in your account.")

    func addRoutes(to group: RouterGroup<ConsoleContext>) {
        group.get("/endpoints") { request, context -> Response in
            try await list(context, flash: Flash.message(request, in: Flash.endpoints))
        }
        group.post("/endpoints") { request, context -> Response in
            let form = try await ConsoleForm.read(request, context)
            do {
                let draft = try Self.draft(form)
                let endpoint = try await catalog.create(draft, accountID: context.session.accountID, actor: context.actor(request))
                return Page.redirect("/console/endpoints/\(endpoint.id.uuidString.lowercased())")
            } catch let error as KeyflareError where error.status != .notFound {
                return try await list(context, form: form, error: error.message, status: error.status)
            }
        }
        group.get("/endpoints/:id") { request, context -> Response in
            let endpoint = try await find(context)
            return detail(context, endpoint, flash: Flash.message(request, in: Flash.endpoints))
        }
        group.post("/endpoints/:id") { request, context -> Response in
            let form = try await ConsoleForm.read(request, context)
            let endpoint = try await find(context)
            do {
                let draft = try Self.draft(form)
                _ = try await catalog.update(endpoint, with: draft, accountID: context.session.accountID, actor: context.actor(request))
                return Page.redirect("/console/endpoints/\(endpoint.id.uuidString.lowercased())?done=saved")
            } catch let error as KeyflareError where error.status != .notFound {
                return detail(context, endpoint, form: form, error: error.message, status: error.status)
            }
        }
        group.post("/endpoints/:id/run") { request, context -> Response in
            let form = try await ConsoleForm.read(request, context)
            let endpoint = try await find(context)
            var values: [String: String?] = [:]
            for name in endpoint.parameters { values[name] = form["param_\(name)"] ?? "" }
            do {
                let json = try await sandbox.run(endpoint, values: values)
                return detail(context, endpoint, run: form, result: json)
            } catch let error as KeyflareError where error.status != .notFound {
                return detail(context, endpoint, run: form, runError: error.message, status: error.status)
            }
        }
        group.get("/endpoints/:id/delete") { _, context -> Response in
            let endpoint = try await find(context)
            let id = endpoint.id.uuidString.lowercased()
            return Page.render(
                "confirm-delete", title: "Delete endpoint", session: context.session, nav: "endpoints",
                values: ["kind": "endpoint", "name": endpoint.name, "action": "/console/endpoints/\(id)/delete", "back": "/console/endpoints/\(id)"])
        }
        group.post("/endpoints/:id/delete") { request, context -> Response in
            _ = try await ConsoleForm.read(request, context)
            let endpoint = try await find(context)
            _ = try await endpoints.delete(id: endpoint.id, accountID: context.session.accountID, actor: context.actor(request))
            return Page.redirect("/console/endpoints?done=deleted")
        }
    }

    static func draft(_ form: FormData) throws -> EndpointDraft {
        let limitText = form["max_limit"] ?? ""
        guard let limit = limitText.isEmpty ? Endpoint.defaultMaxLimit : Int(limitText) else {
            throw KeyflareError.unprocessable("Max rows must be a number from 1 to 10000.")
        }
        return EndpointDraft(
            name: try Endpoint.validateName(form["name"] ?? ""), description: form["description"] ?? "", sql: form["sql"] ?? "",
            enableAuth: form["enable_auth"] == "true", maxLimit: try Endpoint.validateMaxLimit(limit),
            sandboxable: form["sandboxable"] == "true")
    }

    private func find(_ context: ConsoleContext) async throws -> Endpoint {
        guard let text = context.parameters.get("id"), let id = UUID(uuidString: text),
            let endpoint = try await endpoints.find(idOrName: id.uuidString, accountID: context.session.accountID)
        else { throw Self.notFound }
        return endpoint
    }

    private static func formValues(_ form: FormData?, endpoint: Endpoint?, action: String) -> [String: Any] {
        [
            "action": action, "name": form?["name"] ?? endpoint?.name ?? "", "description": form?["description"] ?? endpoint?.description ?? "",
            "sql": form?["sql"] ?? endpoint?.sql ?? "",
            "maxLimit": form?["max_limit"] ?? String(endpoint?.maxLimit ?? Endpoint.defaultMaxLimit),
            "enableAuth": form.map { $0["enable_auth"] == "true" } ?? endpoint?.enableAuth ?? true,
            "sandboxable": form.map { $0["sandboxable"] == "true" } ?? endpoint?.sandboxable ?? false,
        ]
    }

    private func list(
        _ context: ConsoleContext, form: FormData? = nil, flash: String? = nil, error: String? = nil, status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let rows = try await endpoints.list(accountID: context.session.accountID).map { endpoint -> [String: Any] in
            [
                "id": endpoint.id.uuidString.lowercased(), "name": endpoint.name,
                "params": endpoint.parameters.map { "@" + $0 }.joined(separator: ", "),
                "auth": endpoint.enableAuth ? "token needed" : "public", "maxLimit": endpoint.maxLimit,
            ]
        }
        return Page.render(
            "endpoints", title: "Endpoints", session: context.session, nav: "endpoints", status: status,
            values: ["endpoints": rows, "form": Self.formValues(form, endpoint: nil, action: "/console/endpoints")], flash: flash, error: error)
    }

    private func detail(
        _ context: ConsoleContext, _ endpoint: Endpoint, form: FormData? = nil, run: FormData? = nil, result: String? = nil,
        runError: String? = nil, flash: String? = nil, error: String? = nil, status: HTTPResponse.Status = .ok
    ) -> Response {
        let id = endpoint.id.uuidString.lowercased()
        var values: [String: Any] = [
            "endpoint": ["id": id, "name": endpoint.name], "base": base,
            "params": endpoint.parameters.map { ["name": $0, "value": run?["param_\($0)"] ?? ""] },
            "form": Self.formValues(form, endpoint: endpoint, action: "/console/endpoints/\(id)"),
        ]
        if let runError { values["runError"] = runError }
        if let result { values["result"] = Self.table(result) }
        return Page.render(
            "endpoint", title: endpoint.name, session: context.session, nav: "endpoints", status: status, values: values,
            flash: flash, error: error)
    }

    /// Rows as a table: columns from the rows' keys (sorted), strings as they are, other values as JSON.
    static func table(_ json: String) -> [String: Any] {
        let rows = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [[String: Any]] ?? []
        let columns = Array(Set(rows.flatMap(\.keys))).sorted()
        let cells = rows.map { row -> [String: Any] in
            [
                "cells": columns.map { column -> String in
                    switch row[column] {
                    case nil, is NSNull: return "null"
                    case let text as String: return text
                    case let value?:
                        if let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys]) {
                            return String(decoding: data, as: UTF8.self)
                        }
                        return "\(value)"
                    }
                }
            ]
        }
        return ["columns": columns, "rows": cells, "count": rows.count]
    }
}
