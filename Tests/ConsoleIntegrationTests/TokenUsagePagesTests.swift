import Foundation
import HTTPTypes
import HummingbirdTesting
import KeyflareCore
import KeyflareStore
import KeyflareWeb
import Testing

@testable import KeyflareTestSupport

/// Usage you can see: the tokens page's 30-day charts, and a token's own page with its 48 hours,
/// busiest clients and settings form.
@Suite struct TokenUsagePagesTests {
    typealias Console = ConsoleTests

    @Test func chartsAndTopClientsShowWhatTheTokenDid() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (accountID, email) = try await Console().user(t)
        let token = try await t.token([.ingest], account: accountID)
        let quiet = try await t.token([.query], account: accountID)
        let app = try t.instance()
        try await app.application.test(.live) { client throws in
            var headers: HTTPFields = .apiKey(token.secret)
            headers[.origin] = "https://shop.example.com"
            for _ in 0..<5 { #expect(try await client.send("/api/auth/check", headers: headers).status == .ok) }
            headers[.origin] = nil
            headers[.referer] = "https://blog.example.org/posts/1?x=y"
            #expect(try await client.send("/api/auth/check", headers: headers).status == .ok)
            // Not an origin: counted among the others, never stored as it came.
            headers[.origin] = "https://<b>.example"
            #expect(try await client.send("/api/auth/check", headers: headers).status == .ok)
        }
        try await UsageStore(pool: t.pool).flush(app.usage.drain())
        // And 429s from earlier today, as another instance would have flushed them.
        let counter = UsageCounter()
        for _ in 0..<4 { counter.recordRateLimited(token.id) }
        try await UsageStore(pool: t.pool).flush(counter.drain())

        try await t.application().test(.router) { client throws in
            let (browser, _) = try await Console().signIn(client, email: email)
            let list = try await client.send("/console/access-tokens", headers: browser.cookieHeader)
            #expect(list.status == .ok)
            let id = token.id.uuidString.lowercased()
            #expect(list.body.contains("data-testid=\"chart-daily-\(id)\""))
            #expect(list.body.contains("data-testid=\"chart-daily-\(quiet.id.uuidString.lowercased())\""))
            #expect(list.body.contains("7 requests in 30 days, 4 refused by the rate limit"))
            #expect(list.body.contains("0 requests in 30 days"))
            #expect(list.body.contains("<td>7</td><td>4</td></tr>"), "today's numbers, in the screen-reader table")
            #expect(list.body.contains("href=\"/console/access-tokens/\(id)\""))

            let page = try await client.send("/console/access-tokens/\(id)", headers: browser.cookieHeader)
            #expect(page.status == .ok)
            #expect(page.body.contains("data-testid=\"chart-hourly\""))
            #expect(page.body.contains("7 requests in 48 hours, 4 refused by the rate limit"))
            #expect(page.body.contains("<code>https://shop.example.com</code></td><td>5</td>"))
            #expect(page.body.contains("<code>https://blog.example.org</code></td><td>1</td>"), "Referer counts as its origin")
            #expect(page.body.contains("<code>127.0.0.1</code></td><td>7</td>"))
            #expect(!page.body.contains("198.51.100.9"), "refused requests count no client")
            #expect(!page.body.contains("&lt;b&gt;.example") && !page.body.contains("<b>.example"))
            #expect(page.body.contains("<em>all others</em></td><td>1</td>"))
            #expect(page.body.contains("none: any address, any page"))

            // Another account's token, and a malformed id, are the same 404.
            let (_, otherEmail) = try await Console().user(t, name: "Other")
            let (other, _) = try await Console().signIn(client, email: otherEmail)
            #expect(try await client.send("/console/access-tokens/\(id)", headers: other.cookieHeader).status == .notFound)
            #expect(try await client.send("/console/access-tokens/not-a-uuid", headers: other.cookieHeader).status == .notFound)
        }
    }

    @Test func theSettingsFormSetsLimitsAndAllowListsAndRefusesBadEntries() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (accountID, email) = try await Console().user(t)
        let token = try await t.token([.ingest], account: accountID)
        let id = token.id.uuidString.lowercased()
        let store = AccessTokenStore(pool: t.pool)
        try await t.application().test(.router) { client throws in
            let (browser, csrf) = try await Console().signIn(client, email: email)
            var headers = Console.formHeaders
            for field in browser.cookieHeader { headers.append(field) }
            func save(_ fields: [(String, String)]) async throws -> (status: HTTPResponse.Status, headers: HTTPFields, body: String) {
                try await client.send(
                    "/console/access-tokens/\(id)/settings", method: .post, headers: headers,
                    body: Console.form([("_csrf", csrf)] + fields))
            }
            let good: [(String, String)] = [
                ("description", "shop widget"), ("requests_per_second", "200"), ("burst", "400"), ("events_per_second", ""),
                ("allowed_ips", "203.0.113.0/24\r\n2001:db8::/32\r\n"), ("allowed_origins", "https://shop.example.com\nhttps://*.example.org"),
                ("require_origin", "true"),
            ]
            let saved = try await save(good)
            #expect(saved.status == .seeOther)
            #expect(saved.headers[.location] == "/console/access-tokens/\(id)?done=updated")
            let stored = try #require(try await store.find(id: token.id, accountID: accountID))
            #expect(stored.description == "shop widget")
            #expect(stored.rateLimit == RateLimit(requestsPerSecond: 200, burst: 400))
            #expect(stored.restrictions.allowedIPs.map(\.description) == ["203.0.113.0/24", "2001:db8::/32"])
            #expect(stored.restrictions.allowedOrigins.map(\.description) == ["https://shop.example.com", "https://*.example.org"])
            #expect(stored.restrictions.requireOrigin)
            let page = try await client.send("/console/access-tokens/\(id)?done=updated", headers: browser.cookieHeader)
            #expect(page.body.contains("Settings saved"))
            #expect(page.body.contains("200 requests a second (bursts of 400)"))
            #expect(page.body.contains("value=\"200\""))
            #expect(page.body.contains("203.0.113.0/24\n2001:db8::/32</textarea>"))
            let audited = try await t.count("SELECT count(*) AS n FROM audit_events WHERE action = 'token.updated' AND target_id = \(token.id) AND actor_type = 'user'")
            #expect(audited == 1)

            // Each bad entry is a 422 that names it, shows the form again, and stores nothing.
            let bad: [(String, String, String)] = [
                ("allowed_ips", "203.0.113.5/24", "203.0.113.5/24"),
                ("allowed_ips", "not-an-address", "not-an-address"),
                ("allowed_origins", "https://shop.example.com/path", "https://shop.example.com/path"),
                ("allowed_origins", "*", "*"),
                ("requests_per_second", "0", "requests_per_second"),
                ("requests_per_second", "1.5", "requests_per_second"),
                ("requests_per_second", "99999999999", "requests_per_second"),
                ("burst", "-3", "burst"),
            ]
            for (field, value, named) in bad {
                let fields = good.map { $0.0 == field ? (field, value) : $0 }
                let refused = try await save(fields)
                #expect(refused.status == .unprocessableContent, "\(field)=\(value)")
                #expect(refused.body.contains(HTMLEscaper.escape(named)), "\(field)=\(value)")
                #expect(refused.body.contains("Save settings"), "the form is shown again")
                let after = try #require(try await store.find(id: token.id, accountID: accountID))
                #expect(after.restrictions == stored.restrictions && after.rateLimit == stored.rateLimit, "\(field)=\(value)")
            }

            // Emptied, every setting is cleared.
            let cleared = try await save([("description", ""), ("requests_per_second", ""), ("burst", ""), ("events_per_second", ""),
                ("allowed_ips", ""), ("allowed_origins", "")])
            #expect(cleared.status == .seeOther)
            let none = try #require(try await store.find(id: token.id, accountID: accountID))
            #expect(none.rateLimit == nil && none.restrictions == .none)

            // Without the CSRF token nothing changes.
            let forged = try await client.send(
                "/console/access-tokens/\(id)/settings", method: .post, headers: headers,
                body: Console.form([("requests_per_second", "1")]))
            #expect(forged.status == .forbidden)
            #expect(try await store.find(id: token.id, accountID: accountID)?.rateLimit == nil)
        }
    }

    @Test func changingTheAccountDefaultRateLimitIsAudited() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (accountID, management) = try await t.account()
        try await t.application().test(.router) { client throws in
            var headers: HTTPFields = .apiKey(management)
            headers[.contentType] = "application/json"
            let body = #"{"default_rate_limit":{"requests_per_second":50}}"#
            #expect(try await client.send("/api/account", method: .patch, headers: headers, body: body).status == .ok)
            #expect(try await client.send("/api/account", method: .patch, headers: headers, body: body).status == .ok)
            #expect(try await client.send("/api/account", method: .patch, headers: headers, body: #"{"default_rate_limit":null}"#).status == .ok)
            let bad = try await client.send("/api/account", method: .patch, headers: headers, body: #"{"default_rate_limit":{"requests_per_second":0}}"#)
            #expect(bad.status == .unprocessableContent)
        }
        let rows = try await t.pool.query(
            "SELECT action, actor_type, target_type, target_id FROM audit_events WHERE account_id = \(accountID) AND action = 'account.updated'"
        ).rows
        #expect(rows.count == 2, "set and cleared; the repeat changed nothing and the refusal stored nothing")
        #expect(try rows.allSatisfy { try $0.decode("actor_type", as: String.self) == "token" && $0.decode("target_type", as: String.self) == "account" })
        #expect(try rows.allSatisfy { try $0.decode("target_id", as: UUID.self) == accountID })
    }

    @Test func theTokenPolicyIsShownAndTheCreateFormObeysIt() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (accountID, email) = try await Console().user(t)
        let old = try await t.token([.ingest], account: accountID)
        try await AccountStore(pool: t.pool).setTokenPolicy(
            TokenLifetimePolicy(maxLifetimeDays: 7, expiryRequired: true), id: accountID, actor: .operator)
        try await t.application().test(.router) { client throws in
            let (browser, csrf) = try await Console().signIn(client, email: email)
            let page = try await client.send("/console/access-tokens", headers: browser.cookieHeader)
            #expect(page.body.contains("Tokens of this account expire within 7 days of their creation."))
            #expect(page.body.contains("2 older token(s) break this policy"), "the old token and the account's first management token")
            let row = try #require(page.body.range(of: "data-token-id=\"\(old.id.uuidString.lowercased())\""))
            #expect(page.body[row.upperBound...].prefix(600).contains("over policy"))
            var headers = Console.formHeaders
            for field in browser.cookieHeader { headers.append(field) }
            let forever = try await client.send(
                "/console/access-tokens", method: .post, headers: headers,
                body: Console.form([("_csrf", csrf), ("description", "no expiry"), ("scope", "ingest"), ("expires_in", "")]))
            #expect(forever.status == .unprocessableContent)
            #expect(forever.body.contains("requires an expiry of at most 7 days"))
            let week = try await client.send(
                "/console/access-tokens", method: .post, headers: headers,
                body: Console.form([("_csrf", csrf), ("description", "a day"), ("scope", "ingest"), ("expires_in", "86400")]))
            #expect(week.status == .seeOther)
        }
    }

    @Test func canariesAreMadeMarkedAndListTheirTrips() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (accountID, email) = try await Console().user(t)
        try await t.application().test(.router) { client throws in
            let (browser, csrf) = try await Console().signIn(client, email: email)
            var headers = Console.formHeaders
            for field in browser.cookieHeader { headers.append(field) }
            let made = try await client.send(
                "/console/access-tokens", method: .post, headers: headers,
                body: Console.form([("_csrf", csrf), ("description", "bait in the wiki"), ("scope", "management"), ("canary", "true")]))
            #expect(made.status == .seeOther)
            let token = try #require(try await AccessTokenStore(pool: t.pool).list(accountID: accountID, includeRevoked: false).first { $0.canary })
            let id = token.id.uuidString.lowercased()
            let list = try await client.send("/console/access-tokens", headers: browser.cookieHeader)
            let row = try #require(list.body.range(of: "data-token-id=\"\(id)\""))
            #expect(list.body[row.upperBound...].prefix(600).contains("badge canary"))

            // A trip, as the request path records it; the page lists it, escaped.
            let trip = TokenTrip(
                tripwire: TokenTripwire(kind: .canary, tokenID: token.id, accountID: accountID, answer: TokenRejection.unknown),
                clientIP: "203.0.113.66", origin: "https://evil.example", userAgent: "<script>x</script>", route: "GET /api/account")
            try await TokenTripStore(pool: t.pool).record([trip])
            let page = try await client.send("/console/access-tokens/\(id)", headers: browser.cookieHeader)
            #expect(page.body.contains("Canary trips"))
            #expect(page.body.contains("<code>203.0.113.66</code>"))
            #expect(page.body.contains("<code>GET /api/account</code>"))
            #expect(page.body.contains("&lt;script&gt;x&lt;/script&gt;") && !page.body.contains("<script>x</script>"))
        }
    }

    @Test func aSuggestionIsShownAndOneClickNarrowsTheToken() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (accountID, email) = try await Console().user(t)
        let web = try await t.source("web", account: accountID)
        let token = try await t.token([.ingest, .query], account: accountID)
        let counter = UsageCounter()
        counter.record(token.id)
        counter.recordUse(token.id, .ingest(web))
        try await UsageStore(pool: t.pool).flush(counter.drain())
        try await t.application().test(.router) { client throws in
            let (browser, csrf) = try await Console().signIn(client, email: email)
            let id = token.id.uuidString.lowercased()
            let page = try await client.send("/console/access-tokens/\(id)", headers: browser.cookieHeader)
            #expect(page.body.contains("used only to ingest into `web` in the last 30 days"))
            #expect(page.body.contains("Restrict to these scopes"))
            var headers = Console.formHeaders
            for field in browser.cookieHeader { headers.append(field) }
            let widen = try await client.send(
                "/console/access-tokens/\(id)/suggestions/apply", method: .post, headers: headers,
                body: Console.form([("_csrf", csrf), ("scopes", "management")]))
            #expect(widen.status == .unprocessableContent)
            let applied = try await client.send(
                "/console/access-tokens/\(id)/suggestions/apply", method: .post, headers: headers,
                body: Console.form([("_csrf", csrf), ("scopes", "ingest:source:\(web.uuidString.lowercased())")]))
            #expect(applied.status == .seeOther)
            let now = try #require(try await AccessTokenStore(pool: t.pool).find(id: token.id, accountID: accountID))
            #expect(now.scopes == [.ingestSource(web)])
        }
    }
}
