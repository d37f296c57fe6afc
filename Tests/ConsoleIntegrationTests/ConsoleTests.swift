import Foundation
import HTTPTypes
import HummingbirdTesting
import KeyflareCore
import KeyflareHTTP
import KeyflareStore
import Testing

@testable import KeyflareTestSupport

/// The web console over HTTP: every page, sign-in, sessions, CSRF and tenancy.
@Suite struct ConsoleTests {
    static let password = "correct horse battery"

    /// An account whose user has a password; returns the account id and email.
    func user(_ t: TestApp, name: String = "Acme") async throws -> (account: UUID, email: String) {
        let hash = try await PasswordHasher(cost: 4).hash(Self.password)
        let email = "\(name.lowercased())-\(UUID().uuidString.prefix(6))@example.test"
        let created = try await AccountStore(pool: t.pool).create(name: name, email: email, passwordHash: hash)
        return (created.account.id, email)
    }

    struct Browser {
        var cookies: [String: String] = [:]

        var cookieHeader: HTTPFields {
            cookies.isEmpty ? [:] : [.cookie: cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")]
        }

        mutating func remember(_ headers: HTTPFields) {
            for value in headers[values: .setCookie] {
                let pair = value.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
                let name = String(pair[0])
                let cookieValue = pair.count > 1 ? String(pair[1]) : ""
                if cookieValue.isEmpty || value.contains("Max-Age=0") { cookies[name] = nil } else { cookies[name] = cookieValue }
            }
        }
    }

    static func form(_ fields: [(String, String)]) -> String {
        fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
    }

    static let formHeaders: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

    /// Opens the sign-in page: headers carrying its CSRF cookie, and the form's CSRF token.
    func loginForm(_ client: some TestClientProtocol) async throws -> (HTTPFields, String) {
        var browser = Browser()
        let page = try await client.send("/console/login")
        browser.remember(page.headers)
        var headers = Self.formHeaders
        for field in browser.cookieHeader { headers.append(field) }
        return (headers, try #require(Self.hidden("_csrf", in: page.body)))
    }

    /// Signs in through the form and returns the browser state and the session's CSRF token.
    func signIn(_ client: some TestClientProtocol, email: String) async throws -> (Browser, String) {
        var browser = Browser()
        let page = try await client.send("/console/login")
        browser.remember(page.headers)
        let csrf = try #require(Self.hidden("_csrf", in: page.body))
        var headers = Self.formHeaders
        for field in browser.cookieHeader { headers.append(field) }
        let response = try await client.send(
            "/console/login", method: .post, headers: headers,
            body: Self.form([("_csrf", csrf), ("email", email), ("password", Self.password)]))
        #expect(response.status == .seeOther)
        #expect(response.headers[.location] == "/console/access-tokens")
        browser.remember(response.headers)
        let tokens = try await client.send("/console/access-tokens", headers: browser.cookieHeader)
        #expect(tokens.status == .ok)
        return (browser, try #require(Self.hidden("_csrf", in: tokens.body)))
    }

    static func hidden(_ name: String, in html: String) -> String? {
        guard let range = html.range(of: #"name="\#(name)" value=""#) else { return nil }
        return String(html[range.upperBound...].prefix { $0 != "\"" })
    }

    static let pages = ["/console/access-tokens", "/console/sources", "/console/endpoints", "/console/webhooks"]

    @Test func signedOutVisitorsAreSentToSignIn() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        try await t.application().test(.router) { client throws in
            for path in Self.pages + ["/console/endpoints/\(UUID())", "/console/access-tokens/\(UUID())/revoke", "/console/nowhere"] {
                let response = try await client.send(path)
                #expect(response.status == .seeOther, "\(path)")
                #expect(response.headers[.location] == "/console/login", "\(path)")
            }
            let post = try await client.send("/console/sources", method: .post, headers: Self.formHeaders, body: "name=x")
            #expect(post.headers[.location] == "/console/login")
            #expect(try await client.send("/").headers[.location] == "/console/access-tokens")
        }
    }

    @Test func signInSetsASafeCookieAndFailuresSayLittle() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (accountID, email) = try await user(t)
        try await t.application().test(.router) { client throws in
            let (headers, csrf) = try await loginForm(client)
            for (mail, password) in [(email, "wrong password"), ("nobody@example.test", Self.password)] {
                let failed = try await client.send(
                    "/console/login", method: .post, headers: headers, body: Self.form([("_csrf", csrf), ("email", mail), ("password", password)]))
                #expect(failed.status == .unauthorized)
                #expect(failed.body.contains("invalid email or password"))
                #expect(failed.body.contains(#"value="\#(mail)""#), "the email typed is kept")
                #expect(!failed.body.contains(password))
            }
            let noCSRF = try await client.send(
                "/console/login", method: .post, headers: headers, body: Self.form([("email", email), ("password", Self.password)]))
            #expect(noCSRF.status == .forbidden)
            let ok = try await client.send(
                "/console/login", method: .post, headers: headers, body: Self.form([("_csrf", csrf), ("email", email), ("password", Self.password)]))
            #expect(ok.status == .seeOther)
            let cookie = try #require(ok.headers[values: .setCookie].first { $0.hasPrefix("kf_session=") })
            #expect(cookie.contains("HttpOnly"))
            #expect(cookie.contains("SameSite=Lax"))
            #expect(!cookie.contains("Secure"), "plain http here; Secure needs an https KEYFLARE_PUBLIC_URL")
        }
        let actions = try await t.pool.query(
            "SELECT action FROM audit_events WHERE account_id = \(accountID) AND actor_type = 'user' ORDER BY created_at"
        ).rows.map { try $0.decode("action", as: String.self) }
        #expect(actions == ["user.sign_in_failed", "user.signed_in"])
        #expect(try await t.count("SELECT count(*) AS n FROM sign_in_failures") == 2)

        let secure = try t.instance(configure: { $0.publicURL = "https://logs.example.test" })
        try await secure.application.test(.router) { client throws in
            let page = try await client.send("/console/login")
            #expect(page.headers[values: .setCookie].allSatisfy { $0.contains("; Secure") })
        }
    }

    @Test func signInIsRateLimitedPerEmail() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (_, email) = try await user(t)
        try await t.application().test(.router) { client throws in
            let (headers, csrf) = try await loginForm(client)
            for _ in 0..<SessionStore.maxFailuresPerEmail {
                let failed = try await client.send(
                    "/console/login", method: .post, headers: headers, body: Self.form([("_csrf", csrf), ("email", email), ("password", "nope")]))
                #expect(failed.status == .unauthorized)
            }
            // Even the right password is refused now, with a clear message.
            let limited = try await client.send(
                "/console/login", method: .post, headers: headers, body: Self.form([("_csrf", csrf), ("email", email), ("password", Self.password)]))
            #expect(limited.status == .tooManyRequests)
            #expect(limited.body.contains("too many failed sign-ins"))
        }
    }

    @Test func everyPageRendersAndEveryFormNeedsItsCSRFToken() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (accountID, email) = try await user(t)
        let source = try await t.source("web", account: accountID)
        let endpoint = try await t.endpoint("daily", account: accountID)
        let token = try await t.token([.ingest], account: accountID)
        try await t.application().test(.router) { client throws in
            let (browser, csrf) = try await signIn(client, email: email)
            for path in Self.pages + [
                "/console/endpoints/\(endpoint)", "/console/access-tokens/\(token.id)/revoke", "/console/sources/\(source)/delete",
                "/console/endpoints/\(endpoint)/delete",
            ] {
                let response = try await client.send(path, headers: browser.cookieHeader)
                #expect(response.status == .ok, "\(path)")
                #expect(response.headers[.contentType]?.hasPrefix("text/html") == true)
                #expect(response.headers[.cacheControl] == "no-store")
            }
            let sourcesPage = try await client.send("/console/sources", headers: browser.cookieHeader).body
            for method in ["Authorization: Bearer YOUR_TOKEN", "X-API-KEY: YOUR_TOKEN", "api_key=YOUR_TOKEN"] {
                #expect(sourcesPage.contains(method), "curl example with \(method)")
            }
            let posts = [
                "/console/access-tokens", "/console/access-tokens/\(token.id)/revoke", "/console/access-tokens/\(token.id)/roll",
                "/console/sources", "/console/sources/\(source)/rename", "/console/sources/\(source)/delete", "/console/endpoints",
                "/console/endpoints/\(endpoint)", "/console/endpoints/\(endpoint)/run", "/console/endpoints/\(endpoint)/delete",
                "/console/logout",
            ]
            var headers = Self.formHeaders
            for field in browser.cookieHeader { headers.append(field) }
            for path in posts {
                for body in ["name=x&scope=ingest", "_csrf=forged&name=x&scope=ingest"] {
                    let refused = try await client.send(path, method: .post, headers: headers, body: body)
                    #expect(refused.status == .forbidden, "\(path) \(body)")
                }
            }
            // Nothing happened: the token is alive, the source and endpoint exist, the session too.
            #expect(try await client.send("/api/auth/check", headers: .apiKey(token.secret)).status == .ok)
            #expect(try await t.count("SELECT count(*) AS n FROM sources") == 1)
            #expect(try await client.send("/console/sources", headers: browser.cookieHeader).status == .ok)
            // With the token, a form works, and a form error keeps what was typed.
            let created = try await client.send("/console/sources", method: .post, headers: headers, body: Self.form([("_csrf", csrf), ("name", "api")]))
            #expect(created.status == .seeOther)
            let duplicate = try await client.send("/console/sources", method: .post, headers: headers, body: Self.form([("_csrf", csrf), ("name", "api")]))
            #expect(duplicate.status == .conflict)
            #expect(duplicate.body.contains("already exists"))
            #expect(duplicate.body.contains(#"id="source-name" name="name" maxlength="128" required value="api""#))
            let badSQL = try await client.send(
                "/console/endpoints", method: .post, headers: headers,
                body: Self.form([("_csrf", csrf), ("name", "broken"), ("sql", "select * from nowhere"), ("max_limit", "10")]))
            #expect(badSQL.status == .unprocessableContent)
            #expect(badSQL.body.contains("select * from nowhere"))
            #expect(badSQL.body.contains("does not exist"))
            let run = try await client.send(
                "/console/endpoints/\(endpoint)/run", method: .post, headers: headers, body: Self.form([("_csrf", csrf)]))
            #expect(run.status == .ok)
            #expect(run.body.contains("1 row(s)"))
        }
    }

    /// The console saves endpoints through the same checks as the API: a sandboxable endpoint with
    /// more CTEs than `SandboxedQuery.maxCTEs` is a 422 naming the limit, with the form kept.
    @Test func aSandboxableEndpointWithTooManyCTEsIsRefused() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (_, email) = try await user(t)
        try await t.application().test(.router) { client throws in
            let (browser, csrf) = try await signIn(client, email: email)
            var headers = Self.formHeaders
            for field in browser.cookieHeader { headers.append(field) }
            func save(ctes: Int) async throws -> (status: HTTPResponse.Status, body: String) {
                let sql = "with " + (0..<ctes).map { "c\($0) as (select \($0) as n)" }.joined(separator: ", ") + " select n from c0"
                let answer = try await client.send(
                    "/console/endpoints", method: .post, headers: headers,
                    body: Self.form([("_csrf", csrf), ("name", "wide\(ctes)"), ("sql", sql), ("max_limit", "10"), ("sandboxable", "true")]))
                return (answer.status, answer.body)
            }
            let refused = try await save(ctes: 33)
            #expect(refused.status == .unprocessableContent)
            #expect(refused.body.contains("at most 32 CTEs"))
            #expect(refused.body.contains("c32 as (select 32 as n)"), "the form keeps what was typed")
            #expect(try await save(ctes: 32).status == .seeOther)
            #expect(try await t.count("SELECT count(*) AS n FROM endpoints") == 1)
        }
    }

    @Test func anotherAccountsIdsAnswer404() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (_, email) = try await user(t, name: "Alpha")
        let (beta, _) = try await user(t, name: "Beta")
        let theirSource = try await t.source("theirs", account: beta)
        let theirEndpoint = try await t.endpoint("theirs", account: beta)
        let theirToken = try await t.token([.ingest], account: beta)
        try await t.application().test(.router) { client throws in
            let (browser, csrf) = try await signIn(client, email: email)
            for path in [
                "/console/access-tokens/\(theirToken.id)/revoke", "/console/sources/\(theirSource)/delete",
                "/console/endpoints/\(theirEndpoint)", "/console/endpoints/\(theirEndpoint)/delete", "/console/endpoints/\(UUID())",
                "/console/no-such-page",
            ] {
                let response = try await client.send(path, headers: browser.cookieHeader)
                #expect(response.status == .notFound, "\(path)")
                #expect(response.body.contains("<h1>Page not found</h1>"), "\(path)")
            }
            var headers = Self.formHeaders
            for field in browser.cookieHeader { headers.append(field) }
            for path in [
                "/console/access-tokens/\(theirToken.id)/revoke", "/console/access-tokens/\(theirToken.id)/roll",
                "/console/sources/\(theirSource)/delete", "/console/endpoints/\(theirEndpoint)/delete",
            ] {
                let response = try await client.send(path, method: .post, headers: headers, body: Self.form([("_csrf", csrf)]))
                #expect(response.status == .notFound, "\(path)")
            }
        }
        #expect(try await t.pool.query("SELECT revoked_at IS NULL AS alive FROM access_tokens WHERE id = \(theirToken.id)").first!.decode("alive", as: Bool.self))
    }

    @Test func sessionsWorkOnEveryInstanceAndSigningOutEndsThemEverywhere() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (_, email) = try await user(t)
        let a = try t.instance()
        let b = try t.instance()
        try await a.application.test(.router) { clientA throws in
            try await b.application.test(.router) { clientB throws in
                let (browser, csrf) = try await signIn(clientA, email: email)
                #expect(try await clientB.send("/console/sources", headers: browser.cookieHeader).status == .ok)
                var headers = Self.formHeaders
                for field in browser.cookieHeader { headers.append(field) }
                let out = try await clientB.send("/console/logout", method: .post, headers: headers, body: Self.form([("_csrf", csrf)]))
                #expect(out.status == .seeOther)
                #expect(try await clientA.send("/console/sources", headers: browser.cookieHeader).headers[.location] == "/console/login")
            }
        }
    }

    @Test func theSecretIsShownOnceAndNeverStored() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (accountID, email) = try await user(t)
        let source = try await t.source("web", account: accountID)
        try await t.application().test(.router) { client throws in
            var (browser, csrf) = try await signIn(client, email: email)
            var headers = Self.formHeaders
            for field in browser.cookieHeader { headers.append(field) }
            let created = try await client.send(
                "/console/access-tokens", method: .post, headers: headers,
                body: Self.form([("_csrf", csrf), ("description", "shop"), ("scope", "ingest"), ("ingest_source", source.uuidString.lowercased())]))
            #expect(created.status == .seeOther)
            browser.remember(created.headers)
            let shown = try await client.send("/console/access-tokens?done=created", headers: browser.cookieHeader)
            let secret = try #require(shown.body.range(of: #"kf_pub_[0-9A-Za-z]{49}"#, options: .regularExpression).map { String(shown.body[$0]) })
            #expect(shown.body.contains("will not be shown again"))
            #expect(shown.body.contains("ingest: web"))
            browser.remember(shown.headers)
            let again = try await client.send("/console/access-tokens", headers: browser.cookieHeader)
            #expect(!again.body.contains(secret))
            #expect(try await client.send("/api/auth/check", headers: .apiKey(secret)).status == .ok)
            let stored = try await t.pool.query(
                "SELECT count(*) AS n FROM sessions WHERE position(\(secret) IN csrf_token) > 0"
            ).first!.decode("n", as: Int.self)
            #expect(stored == 0)
        }
        #expect(!t.log.text.contains("kf_pub_"))
    }
}
