import Foundation
import HTTPTypes
import HummingbirdTesting
import KeyflareCore
import KeyflareHTTP
import KeyflareServer
import KeyflareStore
import Testing

@testable import KeyflareTestSupport

/// The console as an attacker tries it: stored and reflected markup, the Content-Security-Policy,
/// parallel password guesses through two instances, and forged client addresses.
@Suite struct ConsoleHardeningTests {
    typealias Console = ConsoleTests

    /// Markup bytes inside grapheme clusters (prepend marks, combining marks, ZWJ, emoji modifiers).
    static let hostile = [
        "\u{0600}<script>alert(1)</script>",
        "x\"\u{0301} onmouseover=alert(2) a=\"",
        "'\u{0301}><svg onload=alert(3)>",
        "<\u{200D}img src=x>",
        "\u{1F469}\u{200D}<\u{200D}iframe>",
        "'\u{1F3FD}\"\u{1F3FB}<b>",
    ]
    /// What must never appear in a page, byte for byte.
    static let needles = [
        "<script>alert", "\" \u{0301}", "\"\u{0301} onmouseover", "'\u{0301}>", "<svg>", "<\u{200D}img", "<\u{200D}iframe", "\"\u{1F3FB}<b>",
    ]

    static func containsBytes(_ haystack: String, _ needle: String) -> Bool {
        let h = Array(haystack.utf8)
        let n = Array(needle.utf8)
        guard n.count <= h.count else { return false }
        return (0...(h.count - n.count)).contains { h[$0..<($0 + n.count)].elementsEqual(n) }
    }

    static func expectInert(_ page: String, _ path: String, sourceLocation: SourceLocation = #_sourceLocation) {
        for needle in needles {
            #expect(!containsBytes(page, needle), "\(path) shows \(needle.debugDescription) as markup", sourceLocation: sourceLocation)
        }
    }

    static func matches(_ text: String, _ pattern: String) -> Bool {
        let regex = try! NSRegularExpression(pattern: pattern, options: [.caseInsensitive])
        return regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    static func json(_ object: Any) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    @Test func hostileStringsStoredThroughTheAPINeverBecomeMarkup() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (accountID, email) = try await ConsoleTests().user(t)
        let management = try await t.token([.management], account: accountID).secret
        let web = try await t.source("web", account: accountID)
        try await t.application().test(.router) { client throws in
            let auth = HTTPFields.bearer(management)
            var json = auth
            json[.contentType] = "application/json"
            for (i, evil) in Self.hostile.enumerated() {
                let token = try await client.send(
                    "/api/access-tokens", method: .post, headers: json, body: Self.json(["description": evil, "scopes": ["ingest"]]))
                #expect(token.status == .created, "\(token.body)")
                let source = try await client.send("/api/sources", method: .post, headers: json, body: Self.json(["name": evil]))
                // Source names refuse format characters (the prepend mark, ZWJ): those are 422s.
                #expect(source.status == .created || source.body.contains("control characters"), "\(source.body)")
                let ingested = try await client.send(
                    "/api/logs?source=\(web.uuidString.lowercased())", method: .post, headers: json,
                    body: Self.json(["event_message": evil, "note": evil, "n": i]))
                #expect(ingested.status == .ok, "\(ingested.body)")
            }
            let endpoint = try await client.send(
                "/api/endpoints", method: .post, headers: json,
                body: Self.json([
                    "name": "hostile", "description": Self.hostile.joined(separator: " "),
                    "sql": "select event_message, body from web order by \"timestamp\"",
                ]))
            #expect(endpoint.status == .created, "\(endpoint.body)")
            let endpointID = try #require(try jsonObject(endpoint.body)["id"] as? String)
            let tokenIDs = try await t.pool.query("SELECT id FROM access_tokens WHERE account_id = \(accountID)").rows
                .map { try $0.decode("id", as: UUID.self).uuidString.lowercased() }
            let sourceIDs = try await t.pool.query("SELECT id FROM sources WHERE account_id = \(accountID)").rows
                .map { try $0.decode("id", as: UUID.self).uuidString.lowercased() }

            let (browser, csrf) = try await Console().signIn(client, email: email)
            var paths = ["/console/access-tokens", "/console/sources", "/console/endpoints", "/console/endpoints/\(endpointID)",
                "/console/endpoints/\(endpointID)/delete"]
            paths += tokenIDs.map { "/console/access-tokens/\($0)/revoke" }
            paths += tokenIDs.map { "/console/access-tokens/\($0)" }
            paths += sourceIDs.map { "/console/sources/\($0)/delete" }
            for path in paths {
                let page = try await client.send(path, headers: browser.cookieHeader)
                #expect(page.status == .ok, "\(path)")
                Self.expectInert(page.body, path)
            }
            // The endpoint's Run result shows the ingested event text.
            var headers = Console.formHeaders
            for field in browser.cookieHeader { headers.append(field) }
            let run = try await client.send(
                "/console/endpoints/\(endpointID)/run", method: .post, headers: headers, body: Console.form([("_csrf", csrf)]))
            #expect(run.status == .ok)
            #expect(run.body.contains("onmouseover=alert(2)"), "the event text is shown, as text")
            Self.expectInert(run.body, "run")
            // A hostile email typed at sign-in comes back in the form's value attribute.
            let (loginHeaders, loginCSRF) = try await Console().loginForm(client)
            let typed = try await client.send(
                "/console/login", method: .post, headers: loginHeaders,
                body: Console.form([("_csrf", loginCSRF), ("email", Self.hostile[1]), ("password", "x")]))
            Self.expectInert(typed.body, "sign-in")
        }
    }

    @Test func flashMessagesComeFromFixedKeysOnly() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (_, email) = try await ConsoleTests().user(t)
        try await t.application().test(.router) { client throws in
            let (browser, _) = try await Console().signIn(client, email: email)
            let reflected = "%3Cscript%3Ealert(1)%3C%2Fscript%3E"
            for path in ["/console/sources", "/console/endpoints", "/console/access-tokens"] {
                let page = try await client.send("\(path)?done=\(reflected)", headers: browser.cookieHeader)
                #expect(page.status == .ok)
                #expect(!page.body.contains("alert(1)"), "\(path) reflected ?done=")
                #expect(!page.body.contains("class=\"notice\""), "an unknown key shows nothing")
            }
            let known = try await client.send("/console/sources?done=created", headers: browser.cookieHeader)
            #expect(known.body.contains("Source created."))
            let other = try await client.send("/console/sources?done=saved", headers: browser.cookieHeader)
            #expect(!other.body.contains("class=\"notice\""), "another page's key shows nothing")
        }
    }

    @Test func everyConsoleResponseCarriesTheCSPAndNoInlineScript() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (accountID, email) = try await ConsoleTests().user(t)
        let source = try await t.source("web", account: accountID).uuidString.lowercased()
        let endpoint = try await t.endpoint("daily", account: accountID).uuidString.lowercased()
        let token = try await t.token([.ingest], account: accountID).id.uuidString.lowercased()
        let csp = HTTPField.Name("Content-Security-Policy")!
        let inlineScript = #"<script(?![^>]*\ssrc=)[^>]*>"#
        let handler = #"<[^>]*\son[a-z]+\s*="#
        let styleAttribute = #"<[^>]*\sstyle\s*="#
        try await t.application().test(.router) { client throws in
            let signedOut = ["/console/login", "/console", "/console/access-tokens", "/console/static/console.css",
                "/console/static/console.js", "/console/no-such-page"]
            for path in signedOut {
                let response = try await client.send(path)
                #expect(response.headers[csp] == "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                    + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'", "\(path)")
                #expect(response.headers[HTTPField.Name("X-Frame-Options")!] == "DENY", "\(path)")
                #expect(response.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff", "\(path)")
            }
            let script = try await client.send("/console/static/console.js")
            #expect(script.status == .ok)
            #expect(script.headers[.contentType]?.hasPrefix("text/javascript") == true)
            #expect(script.body.contains("copy-secret"))

            var (browser, csrf) = try await Console().signIn(client, email: email)
            // A fresh secret is on the page, so the page with the Copy button is checked too.
            var headers = Console.formHeaders
            for field in browser.cookieHeader { headers.append(field) }
            let created = try await client.send(
                "/console/access-tokens", method: .post, headers: headers,
                body: Console.form([("_csrf", csrf), ("description", "copy me"), ("scope", "ingest")]))
            browser.remember(created.headers)
            let signedIn = [
                "/console/access-tokens", "/console/sources", "/console/endpoints", "/console/endpoints/\(endpoint)",
                "/console/endpoints/\(endpoint)/delete", "/console/sources/\(source)/delete", "/console/access-tokens/\(token)/revoke",
                "/console/nothing-here",
            ]
            var sawCopyButton = false
            for path in signedIn {
                let page = try await client.send(path, headers: browser.cookieHeader)
                #expect(page.headers[csp]?.hasPrefix("default-src 'none'") == true, "\(path)")
                #expect(page.headers[.cacheControl] == "no-store", "\(path)")
                #expect(!Self.matches(page.body, inlineScript), "\(path) has an inline script")
                #expect(!Self.matches(page.body, handler), "\(path) has an on… attribute")
                #expect(!Self.matches(page.body, styleAttribute), "\(path) has a style attribute")
                if page.body.contains("id=\"copy-secret\"") {
                    sawCopyButton = true
                    #expect(page.body.contains("<script src=\"/console/static/console.js\"></script>"))
                }
            }
            #expect(sawCopyButton, "the new token's page was checked")
        }
    }

    /// A busy database (no pool connection free in time) is a 503 page the user can retry, as on
    /// the API, not a 500.
    @Test func aBusyDatabaseIsA503PageNotA500() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (_, email) = try await ConsoleTests().user(t)
        let app = try t.instance(configure: { $0.poolSize = 1; $0.dbAcquireTimeout = 0.05 })
        try await app.application.test(.router) { client throws in
            let (headers, csrf) = try await Console().loginForm(client)
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for i in 0..<40 {
                    group.addTask {
                        try await client.send(
                            "/console/login", method: .post, headers: headers,
                            body: Console.form([("_csrf", csrf), ("email", email), ("password", "guess \(i)")])
                        ).status
                    }
                }
                var all: [HTTPResponse.Status] = []
                for try await status in group { all.append(status) }
                return all
            }
            #expect(!statuses.contains(.internalServerError), "\(statuses)")
            #expect(statuses.allSatisfy { [.unauthorized, .tooManyRequests, .serviceUnavailable].contains($0) }, "\(statuses)")
        }
    }

    /// 80 parallel wrong passwords for one email, through two instances: at most 5 reach bcrypt.
    @Test func parallelGuessesThroughTwoInstancesReachBcryptAtMostFiveTimes() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (accountID, email) = try await ConsoleTests().user(t)
        let first = try t.instance(configure: { $0.poolSize = 4 })
        let second = try t.instance(configure: { $0.poolSize = 4 })
        try await first.application.test(.router) { one throws in
            try await second.application.test(.router) { two throws in
                let (headersOne, csrfOne) = try await Console().loginForm(one)
                let (headersTwo, csrfTwo) = try await Console().loginForm(two)
                let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                    for i in 0..<80 {
                        group.addTask {
                            let (client, headers, csrf): (any TestClientProtocol, HTTPFields, String) =
                                i % 2 == 0 ? (one, headersOne, csrfOne) : (two, headersTwo, csrfTwo)
                            return try await client.send(
                                "/console/login", method: .post, headers: headers,
                                body: Console.form([("_csrf", csrf), ("email", email), ("password", "guess \(i)")])
                            ).status
                        }
                    }
                    var all: [HTTPResponse.Status] = []
                    for try await status in group { all.append(status) }
                    return all
                }
                #expect(statuses.count == 80)
                #expect(statuses.filter { $0 == .unauthorized }.count <= SessionStore.maxFailuresPerEmail)
                // On a loaded machine a request may also wait past the small pool's acquire timeout
                // (503): refused before any password check, as a 429 is.
                let refused = statuses.filter { $0 == .tooManyRequests || $0 == .serviceUnavailable }
                #expect(refused.count >= 80 - SessionStore.maxFailuresPerEmail, "\(statuses)")
                #expect(statuses.allSatisfy { $0 == .unauthorized || $0 == .tooManyRequests || $0 == .serviceUnavailable }, "\(statuses)")
            }
        }
        // Each password check that ran left one audit row.
        let checked = try await t.count(
            "SELECT count(*) AS n FROM audit_events WHERE account_id = \(accountID) AND action = 'user.sign_in_failed'")
        #expect(checked <= SessionStore.maxFailuresPerEmail)
        #expect(checked >= 1)
    }

    @Test func aTenThousandCharacterEmailIsRefusedBeforeAnyLookup() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        try await t.application().test(.router) { client throws in
            let (headers, csrf) = try await Console().loginForm(client)
            let response = try await client.send(
                "/console/login", method: .post, headers: headers,
                body: Console.form([("_csrf", csrf), ("email", String(repeating: "a", count: 10_000) + "@x.test"), ("password", "x")]))
            #expect(response.status == .badRequest)
            #expect(response.body.contains("at most 320 characters"))
        }
        #expect(try await t.count("SELECT count(*) AS n FROM sign_in_failures") == 0)
    }

    /// `?api_key=` is accepted, so no log line may hold a query string, even at trace level.
    @Test func queryStringsNeverReachTheLog() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (accountID, _) = try await ConsoleTests().user(t)
        let token = try await t.token([.management], account: accountID).secret
        try await t.application().test(.router) { client throws in
            for path in ["/api/access-tokens", "/api/no-such-route", "/console/access-tokens", "/api/sources/not-a-uuid"] {
                _ = try await client.send("\(path)?api_key=\(token)&marker=QUERYMARKER")
            }
        }
        #expect(t.log.count > 0, "the log was captured")
        #expect(!t.log.text.contains("QUERYMARKER"))
        #expect(!t.log.text.contains(token))
    }

    /// Over real sockets the peer is 127.0.0.1: its X-Forwarded-For is ignored unless it is trusted.
    @Test func forwardedAddressesAreBelievedOnlyFromTrustedProxies() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (accountID, email) = try await ConsoleTests().user(t)
        let spoof: HTTPFields = [HTTPField.Name("X-Forwarded-For")!: "198.51.100.66, 203.0.113.9"]

        func failOnce(_ app: KeyflareApp) async throws {
            try await app.application.test(.live) { client throws in
                var (headers, csrf) = try await Console().loginForm(client)
                for field in spoof { headers.append(field) }
                let failed = try await client.send(
                    "/console/login", method: .post, headers: headers,
                    body: Console.form([("_csrf", csrf), ("email", email), ("password", "wrong")]))
                #expect(failed.status == .unauthorized)
            }
        }
        func lastAuditIP() async throws -> String? {
            try await t.pool.query(
                """
                SELECT ip FROM audit_events WHERE account_id = \(accountID) AND action = 'user.sign_in_failed'
                ORDER BY created_at DESC LIMIT 1
                """
            ).first?.decodeIfPresent("ip", as: String.self)
        }

        try await failOnce(try t.instance())
        #expect(try await lastAuditIP() == "127.0.0.1", "an untrusted peer's header is ignored")
        try await failOnce(try t.instance(configure: { $0.trustedProxies = [CIDR("10.0.0.0/8")!] }))
        #expect(try await lastAuditIP() == "127.0.0.1", "a header from a peer outside the list is ignored")
        try await failOnce(try t.instance(configure: { $0.trustedProxies = [CIDR("127.0.0.1")!] }))
        #expect(try await lastAuditIP() == "203.0.113.9", "the right-most untrusted address is the client")
        let rows = try await t.pool.query("SELECT ip FROM sign_in_failures ORDER BY id").rows.map { try $0.decodeIfPresent("ip", as: String.self) }
        #expect(rows == ["127.0.0.1", "127.0.0.1", "203.0.113.9"])
    }
}

private func jsonObject(_ text: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
}
