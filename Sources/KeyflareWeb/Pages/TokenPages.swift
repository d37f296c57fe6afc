import Foundation
import HTTPTypes
import Hummingbird
import KeyflareCore
import KeyflareStore

/// `/console/access-tokens`: list, create, revoke, disable and roll tokens, each with a chart of its
/// last 30 days; `/console/access-tokens/:id`: one token's last 48 hours, its busiest client
/// addresses and origins of the last day, and its settings (description, rate limit, allow-lists).
///
/// A new secret travels to the page that shows it in a short-lived HttpOnly cookie, read and
/// cleared by that one page view: it is never stored on the server, a reload does not show it
/// again, and any instance can serve the page.
struct TokenPages {
    let tokens: AccessTokenStore
    let sources: SourceStore
    let endpoints: EndpointStore
    let accounts: AccountStore
    let usage: UsageStore
    let audit: AuditStore
    let jar: CookieJar
    static let onceCookie = "kf_once"
    static let path = "/console/access-tokens"
    static let notFound = KeyflareError.notFound("There is no such access token in your account.")

    func addRoutes(to group: RouterGroup<ConsoleContext>) {
        group.get("/access-tokens") { request, context -> Response in
            var headers = HTTPFields()
            var secret: String?
            if let once = CookieJar.value(Self.onceCookie, in: request), case .success = TokenFormat.check(once) {
                secret = once
            }
            if CookieJar.value(Self.onceCookie, in: request) != nil {
                headers[.setCookie] = jar.clear(Self.onceCookie, path: Self.path)
            }
            let flash = Flash.message(request, in: Flash.tokens)
            return try await page(context, secret: secret, flash: flash, headers: headers)
        }
        group.post("/access-tokens") { request, context -> Response in
            let form = try await ConsoleForm.read(request, context)
            do {
                let scopes = try Self.scopes(form)
                let expiry = try form["expires_in"].flatMap { $0.isEmpty ? nil : $0 }.map { text -> Date in
                    guard let seconds = Int(text) else { throw KeyflareError.unprocessable("Choose an expiry from the list.") }
                    return try TokenExpiry.after(seconds: seconds)
                }
                let description = (form["description"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
                let (_, secret) = try await tokens.create(
                    accountID: context.session.accountID, description: description, scopes: scopes, expiresAt: expiry,
                    actor: context.actor(request), canary: form["canary"] == "true")
                return Page.redirect(Self.path + "?done=created", headers: [.setCookie: once(secret)])
            } catch let error as KeyflareError {
                return try await page(context, form: form, error: error.message, status: error.status)
            }
        }
        group.get("/access-tokens/:id") { request, context -> Response in
            let token = try await find(request, context)
            return try await detail(token, context, flash: Flash.message(request, in: Flash.tokens))
        }
        group.post("/access-tokens/:id/settings") { request, context -> Response in
            let form = try await ConsoleForm.read(request, context)
            let token = try await find(request, context)
            do {
                let settings = try Self.settings(form)
                guard try await tokens.update(
                    id: token.id, accountID: context.session.accountID, description: settings.description,
                    restrictions: settings.restrictions, rateLimit: .some(settings.rateLimit), actor: context.actor(request))
                    != nil
                else { throw Self.notFound }
                return Page.redirect(Self.path + "/" + token.id.uuidString.lowercased() + "?done=updated")
            } catch let error as KeyflareError where error.status == .unprocessableContent || error.status == .conflict {
                return try await detail(token, context, form: form, error: error.message, status: error.status)
            }
        }
        // Applies a least-privilege suggestion: the store refuses anything that would widen the token.
        group.post("/access-tokens/:id/suggestions/apply") { request, context -> Response in
            let form = try await ConsoleForm.read(request, context)
            let token = try await find(request, context)
            do {
                let scopes = try Scope.parseList((form["scopes"] ?? "").split(separator: " ").map(String.init))
                guard try await tokens.narrowScopes(id: token.id, accountID: context.session.accountID, to: scopes, actor: context.actor(request))
                    != nil
                else { throw Self.notFound }
                return Page.redirect(Self.path + "/" + token.id.uuidString.lowercased() + "?done=narrowed")
            } catch let error as KeyflareError where error.status == .unprocessableContent || error.status == .conflict {
                return try await detail(token, context, error: error.message, status: error.status)
            }
        }
        group.get("/access-tokens/:id/revoke") { request, context -> Response in
            let token = try await find(request, context)
            return Page.render(
                "revoke", title: "Revoke token", session: context.session, nav: "tokens",
                values: ["id": token.id.uuidString.lowercased(), "hint": token.hint, "description": Self.describe(token)])
        }
        group.post("/access-tokens/:id/revoke") { request, context -> Response in
            _ = try await ConsoleForm.read(request, context)
            let token = try await find(request, context)
            _ = try await tokens.revoke(id: token.id, accountID: context.session.accountID, actor: context.actor(request))
            return Page.redirect(Self.path + "?done=revoked")
        }
        // Disable and enable: reversible, on every instance within one notification delivery.
        for (action, disabled) in [("disable", true), ("enable", false)] {
            group.post(RouterPath("/access-tokens/:id/\(action)")) { request, context -> Response in
                _ = try await ConsoleForm.read(request, context)
                let token = try await find(request, context)
                do {
                    _ = try await tokens.setDisabled(disabled, id: token.id, accountID: context.session.accountID, actor: context.actor(request))
                } catch let error as KeyflareError where error.status == .conflict {
                    return try await page(context, error: error.message, status: error.status)
                }
                return Page.redirect(Self.path + "?done=\(disabled ? "disabled" : "enabled")")
            }
        }
        group.post("/access-tokens/:id/roll") { request, context -> Response in
            let form = try await ConsoleForm.read(request, context)
            let token = try await find(request, context)
            let grace = Int(form["grace_seconds"] ?? "0") ?? 0
            do {
                guard let rolled = try await tokens.roll(
                    id: token.id, accountID: context.session.accountID, graceSeconds: grace, actor: context.actor(request))
                else { throw Self.notFound }
                return Page.redirect(Self.path + "?done=rolled", headers: [.setCookie: once(rolled.secret)])
            } catch let error as KeyflareError where error.status == .conflict || error.status == .unprocessableContent {
                return try await page(context, error: error.message, status: error.status)
            }
        }
    }

    /// What the settings form asks for: every field is sent, so an empty one clears its setting.
    struct Settings {
        let description: String
        let restrictions: TokenRestrictions
        let rateLimit: RateLimit?
    }

    /// Reads the settings form; a bad entry is a 422 naming it, and nothing is stored.
    static func settings(_ form: FormData) throws -> Settings {
        func lines(_ name: String) -> [String] {
            (form[name] ?? "").split(whereSeparator: \.isNewline)
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        func number(_ name: String, _ field: String) throws -> Int? {
            let text = (form[name] ?? "").trimmingCharacters(in: .whitespaces)
            guard !text.isEmpty else { return nil }
            guard let value = Int(text) else {
                throw KeyflareError.unprocessable("rate_limit.\(field) must be a whole number from 1 to 1000000")
            }
            return value
        }
        let rps = try number("requests_per_second", "requests_per_second")
        let burst = try number("burst", "burst")
        let eps = try number("events_per_second", "events_per_second")
        let limit: RateLimit? =
            rps == nil && burst == nil && eps == nil
            ? nil : try RateLimit.validated(requestsPerSecond: rps, burst: burst, eventsPerSecond: eps)
        let restrictions = try TokenRestrictions(
            parsing: lines("allowed_ips"), allowedOrigins: lines("allowed_origins"), requireOrigin: form["require_origin"] == "true")
        let description = (form["description"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard description.unicodeScalars.count <= AccessToken.maxDescriptionLength else {
            throw KeyflareError.unprocessable("description must be at most \(AccessToken.maxDescriptionLength) characters")
        }
        return Settings(description: description, restrictions: restrictions, rateLimit: limit)
    }

    /// "200 requests a second (bursts of 400), 5000 events a second".
    static func describe(_ limit: RateLimit) -> String {
        "\(limit.requestsPerSecond) requests a second (bursts of \(limit.burst))"
            + (limit.eventsPerSecond.map { ", \($0) events a second" } ?? "")
    }

    /// Names scopes as people read them: "ingest: web" rather than a source id.
    static func labeller(sources: [Source], endpoints: [Endpoint]) -> (Scope) -> String {
        let sourceNames = Dictionary(uniqueKeysWithValues: sources.map { ($0.id, $0.name) })
        let endpointNames = Dictionary(uniqueKeysWithValues: endpoints.map { ($0.id, $0.name) })
        return { scope in
            switch scope {
            case .ingestSource(let id): "ingest: \(sourceNames[id] ?? "(deleted)")"
            case .queryEndpoint(let id): "query: \(endpointNames[id] ?? "(deleted)")"
            default: scope.description
            }
        }
    }

    /// The token's last 50 trips (canary uses, uses after its roll, leak reports), for a table.
    private func trips(_ token: AccessToken, _ context: ConsoleContext) async throws -> [[String: Any]] {
        try await audit.trips(tokenID: token.id, accountID: context.session.accountID, limit: 50).map { event in
            let what: String =
                switch event.action {
                case .tokenCanaryUsed: "canary used"
                case .tokenReusedAfterRoll: "used after its roll"
                default: "reported leaked"
                }
            return [
                "when": Page.time(event.createdAt), "what": what, "address": event.actor.ip ?? "unknown",
                "userAgent": event.actor.userAgent ?? "", "route": event.detail?["route"] ?? event.detail?["url"] ?? "",
                "origin": event.detail?["origin"] ?? "",
            ]
        }
    }

    /// Clients of the last day, busiest first, for a table.
    private func top(_ token: AccessToken, _ kind: String) async throws -> [[String: Any]] {
        try await usage.top(tokenID: token.id, kind: kind, limit: 10).map { value, requests in
            ["value": value.isEmpty ? "all others" : value, "other": value.isEmpty, "requests": requests]
        }
    }

    private func detail(
        _ token: AccessToken, _ context: ConsoleContext, form: FormData? = nil, flash: String? = nil, error: String? = nil,
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let accountDefault = try await accounts.defaultRateLimit(id: context.session.accountID)
        let sourceList = try await sources.list(accountID: context.session.accountID)
        let endpointList = try await endpoints.list(accountID: context.session.accountID)
        let label = Self.labeller(sources: sourceList, endpoints: endpointList)
        var names: [UUID: String] = [:]
        for source in sourceList { names[source.id] = source.name }
        for endpoint in endpointList { names[endpoint.id] = endpoint.name }
        let suggestions = LeastPrivilege.suggest(
            token, uses: try await usage.uses(tokenID: token.id, days: LeastPrivilege.windowDays), names: names)
        let inForce = token.rateLimit ?? accountDefault
        let hourly = try await usage.hourly(tokenID: token.id, hours: 48)
        let id = token.id.uuidString.lowercased()
        let r = token.restrictions
        let own = token.rateLimit
        let restricted = Self.restrictions(token)
        let scopes: [String] = token.scopes.map(label)
        let tokenValues: [String: Any] = [
            "id": id, "description": Self.describe(token), "type": token.kind.rawValue, "hint": token.hint,
            "disabled": token.disabledAt != nil, "scopes": scopes, "canary": token.canary,
            "created": Page.time(token.createdAt), "lastUsed": Page.time(token.lastUsedAt),
            "expires": token.expiresAt.map(Page.time) ?? "never",
            "limit": inForce.map(Self.describe) ?? "none",
            "limitSource": token.rateLimit != nil || accountDefault == nil ? "" : " (the account default)",
            "restricted": restricted.isEmpty ? "none: any address, any page" : restricted,
        ]
        let rps: String = form?["requests_per_second"] ?? own.map { String($0.requestsPerSecond) } ?? ""
        let burst: String = form?["burst"] ?? own.map { String($0.burst) } ?? ""
        let eps: String = form?["events_per_second"] ?? own?.eventsPerSecond.map { String($0) } ?? ""
        let ips: String = form?["allowed_ips"] ?? r.allowedIPs.map(\.description).joined(separator: "\n")
        let origins: String = form?["allowed_origins"] ?? r.allowedOrigins.map(\.description).joined(separator: "\n")
        let requireOrigin: Bool = form.map { $0["require_origin"] == "true" } ?? r.requireOrigin
        let formValues: [String: Any] = [
            "description": form?["description"] ?? token.description, "rps": rps, "burst": burst, "eps": eps, "ips": ips,
            "origins": origins, "requireOrigin": requireOrigin,
        ]
        let chart = UsageChart(hourly, unit: "hour", limited: inForce != nil, barWidth: 6)
        let values: [String: Any] = [
            "token": tokenValues,
            "hourly": chart.values(id: "hourly", title: "Requests per hour, last 48 hours (UTC)", column: "Hour"),
            "addresses": try await top(token, "address"),
            "origins": try await top(token, "origin"),
            "form": formValues,
            "trips": try await trips(token, context),
            "hasSuggestions": !suggestions.isEmpty,
            "suggestions": suggestions.map { suggestion -> [String: Any] in
                [
                    "message": suggestion.message, "applicable": suggestion.applicable,
                    "scopes": suggestion.scopes?.map(\.description).joined(separator: " ") ?? "",
                    "revoke": suggestion.kind == .revokeUnused, "csrf": context.session.csrfToken, "id": id,
                ]
            },
            "showTrips": token.canary || token.rolledAt != nil,
        ]
        return Page.render(
            "token", title: "Access token …\(token.hint)", session: context.session, nav: "tokens", status: status,
            values: values, flash: flash, error: error)
    }

    private func once(_ secret: String) -> String {
        jar.set(Self.onceCookie, secret, path: Self.path, maxAge: 120, sameSite: "Strict")
    }

    private func find(_ request: Request, _ context: ConsoleContext) async throws -> AccessToken {
        guard let text = context.parameters.get("id"), let id = UUID(uuidString: text),
            let token = try await tokens.find(id: id, accountID: context.session.accountID)
        else { throw Self.notFound }
        return token
    }

    /// "from 203.0.113.0/24; pages on https://app.example.com", or "" for an unrestricted token.
    static func restrictions(_ token: AccessToken) -> String {
        let r = token.restrictions
        var parts: [String] = []
        if !r.allowedIPs.isEmpty { parts.append("from " + r.allowedIPs.map(\.description).joined(separator: ", ")) }
        if !r.allowedOrigins.isEmpty { parts.append("pages on " + r.allowedOrigins.map(\.description).joined(separator: ", ")) }
        if r.requireOrigin { parts.append("browsers only") }
        return parts.joined(separator: "; ")
    }

    static func describe(_ token: AccessToken) -> String {
        token.description.isEmpty ? "No description" : token.description
    }

    /// Checkbox scopes, narrowed by the multi-selects: with sources chosen, `ingest` becomes one
    /// `ingest:source:<id>` per source (likewise endpoints for `query`).
    static func scopes(_ form: FormData) throws -> [Scope] {
        let checked = Set(form.all("scope"))
        var scopes: [String] = []
        if checked.contains("ingest") {
            let chosen = form.all("ingest_source")
            scopes += chosen.isEmpty ? ["ingest"] : chosen.map { "ingest:source:\($0)" }
        }
        if checked.contains("query") {
            let chosen = form.all("query_endpoint")
            scopes += chosen.isEmpty ? ["query"] : chosen.map { "query:endpoint:\($0)" }
        }
        if checked.contains("management") { scopes.append("management") }
        guard !scopes.isEmpty else { throw KeyflareError.unprocessable("Choose at least one scope.") }
        return try Scope.parseList(scopes)
    }

    private func page(
        _ context: ConsoleContext, secret: String? = nil, form: FormData? = nil, flash: String? = nil, error: String? = nil,
        status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]
    ) async throws -> Response {
        let accountID = context.session.accountID
        let all = try await tokens.list(accountID: accountID, includeRevoked: false)
        let sourceList = try await sources.list(accountID: accountID)
        let endpointList = try await endpoints.list(accountID: accountID)
        let label = Self.labeller(sources: sourceList, endpoints: endpointList)
        let now = Date()
        let daily = try await usage.daily(tokenIDs: all.map(\.id), days: 30)
        let accountLimited = try await accounts.defaultRateLimit(id: accountID) != nil
        let policy = try await accounts.tokenPolicy(id: accountID)
        let overPolicy = policy == nil ? [] : Set(try await accounts.tokensOverPolicy(id: accountID))
        let rows: [[String: Any]] = all.map { token in
            let id = token.id.uuidString.lowercased()
            return [
                "chart": UsageChart(daily[token.id] ?? [], unit: "day", limited: token.rateLimit != nil || accountLimited)
                    .values(id: "daily-" + id, title: "Requests per day of \(Self.describe(token)), last 30 days (UTC)", column: "Day"),
                "id": id, "description": Self.describe(token), "type": token.kind.rawValue,
                "scopes": token.scopes.map(label), "hint": token.hint, "created": Page.time(token.createdAt),
                "lastUsed": Page.time(token.lastUsedAt),
                "expires": token.expiresAt.map { ($0 <= now ? "expired " : "") + Page.time($0) } ?? "never",
                "csrf": context.session.csrfToken,
                "disabled": token.disabledAt != nil,
                "toggle": token.disabledAt != nil ? "enable" : "disable",
                "toggleLabel": token.disabledAt != nil ? "Enable" : "Disable",
                "restricted": Self.restrictions(token),
                "overPolicy": overPolicy.contains(token.id) && !token.canary,
                "canary": token.canary,
            ]
        }
        let chosenSources = Set(form?.all("ingest_source") ?? [])
        let chosenEndpoints = Set(form?.all("query_endpoint") ?? [])
        let checked = Set(form?.all("scope") ?? [])
        var values: [String: Any] = [
            "tokens": rows,
            "sources": sourceList.map { ["id": $0.id.uuidString.lowercased(), "name": $0.name, "selected": chosenSources.contains($0.id.uuidString.lowercased())] },
            "endpoints": endpointList.map { ["id": $0.id.uuidString.lowercased(), "name": $0.name, "selected": chosenEndpoints.contains($0.id.uuidString.lowercased())] },
            "form": [
                "description": form?["description"] ?? "", "ingest": checked.contains("ingest") || form == nil,
                "query": checked.contains("query"), "management": checked.contains("management"),
                "canary": form?["canary"] == "true",
            ] as [String: Any],
        ]
        if let secret { values["secret"] = secret }
        if let policy {
            values["policy"] = [
                "text": policy.maxLifetimeDays.map { "Tokens of this account expire within \($0) days of their creation." }
                    ?? "Tokens of this account must have an expiry.",
                "over": overPolicy.count, "anyOver": !overPolicy.isEmpty,
            ] as [String: Any]
        }
        return Page.render(
            "tokens", title: "Access tokens", session: context.session, nav: "tokens", status: status, values: values,
            flash: flash, error: error, headers: headers)
    }
}
