import Foundation
import HTTPTypes
import HummingbirdTesting
import KeyflareCore
import KeyflareServer
import NIOCore
import PQ
import Testing

@testable import KeyflareTestSupport

/// Per-token abuse controls: disable and enable, client networks (`allowed_ips`) and web origins
/// (`allowed_origins`, `require_origin`).
@Suite struct TokenAbuseControlTests {
    static func body(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    /// Creates a public ingest token with the given settings through the API; returns its id and secret.
    static func create(_ client: some TestClientProtocol, _ management: String, _ settings: [String: Any]) async throws
        -> (id: String, secret: String)
    {
        var fields = settings
        fields["scopes"] = ["ingest"]
        let created = try await client.send("/api/access-tokens", method: .post, headers: .apiKey(management), body: try body(fields))
        #expect(created.status == .created, "\(created.body)")
        let object = try json(created.body)
        return (try #require(object["id"] as? String), try #require(object["token"] as? String))
    }

    @Test func settingsAreValidatedAndShown() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (_, management) = try await t.account()
        try await t.application().test(.router) { client throws in
            let bad: [([String: Any], String)] = [
                (["allowed_ips": ["10.0.0.1/8"]], "10.0.0.1/8"),
                (["allowed_ips": ["not-an-ip"]], "not-an-ip"),
                (["allowed_ips": ["10.0.0.0/33"]], "10.0.0.0/33"),
                (["allowed_origins": ["https://app.example.com/path"]], "https://app.example.com/path"),
                (["allowed_origins": ["https://app.example.com?x=1"]], "?x=1"),
                (["allowed_origins": ["*"]], "*"),
                (["allowed_origins": ["https://*"]], "https://*"),
                (["allowed_origins": ["app.example.com"]], "app.example.com"),
            ]
            for (settings, named) in bad {
                var fields = settings
                fields["scopes"] = ["ingest"]
                let answer = try await client.send("/api/access-tokens", method: .post, headers: .apiKey(management), body: try Self.body(fields))
                #expect(answer.status == .unprocessableContent, "\(settings): \(answer.body)")
                #expect(answer.body.contains(named), "\(settings): \(answer.body)")
            }
            let (id, _) = try await Self.create(
                client, management,
                ["allowed_ips": ["203.0.113.0/24", "2001:db8::/32"], "allowed_origins": ["https://App.example.com", "https://*.example.org"]])
            let shown = try json(try await client.send("/api/access-tokens/\(id)", headers: .apiKey(management)).body)
            #expect(shown["allowed_ips"] as? [String] == ["203.0.113.0/24", "2001:db8::/32"])
            #expect(shown["allowed_origins"] as? [String] == ["https://app.example.com", "https://*.example.org"])
            #expect(shown["require_origin"] as? Bool == false && shown["disabled_at"] is NSNull)
            // PATCH replaces a list and keeps what it does not name.
            let patched = try await client.send(
                "/api/access-tokens/\(id)", method: .patch, headers: .apiKey(management), body: #"{"allowed_ips": [], "require_origin": true}"#)
            #expect(patched.status == .ok, "\(patched.body)")
            let after = try json(patched.body)
            #expect(after["allowed_ips"] as? [String] == [] && after["require_origin"] as? Bool == true)
            #expect((after["allowed_origins"] as? [String])?.count == 2)
            let refused = try await client.send(
                "/api/access-tokens/\(id)", method: .patch, headers: .apiKey(management), body: #"{"allowed_ips": ["192.0.2.1/16"]}"#)
            #expect(refused.status == .unprocessableContent)
            let reporting = try await t.pool.query(
                "SELECT require_origin, allowed_origins, status FROM reporting.access_tokens WHERE id = \(UUID(uuidString: id)!)").first!
            #expect(try reporting.decode("require_origin", as: Bool.self) && reporting.decode("status", as: String.self) == "active")
        }
    }

    @Test func allowedIPsAreCheckedAgainstTheClientAddress() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (account, management) = try await t.account()
        let source = try await t.source("app-logs", account: account)
        // Over real sockets the peer is 127.0.0.1.
        try await t.application().test(.live) { client throws in
            let elsewhere = try await Self.create(client, management, ["allowed_ips": ["203.0.113.0/24"]])
            let here = try await Self.create(client, management, ["allowed_ips": ["127.0.0.0/8", "::1/128"]])
            let refused = try await client.send("/api/logs?source=\(source)", method: .post, headers: .apiKey(elsewhere.secret), body: #"{"message":"x"}"#)
            #expect(refused.status == .forbidden)
            #expect(try json(refused.body)["message"] as? String == "this token may not be used from 127.0.0.1")
            #expect(try await client.send("/api/logs?source=\(source)", method: .post, headers: .apiKey(here.secret), body: #"{"message":"y"}"#).status == .ok)
            #expect(try await t.eventCount(source: source) == 1)
        }
        // Behind a trusted proxy the forwarded address counts, and only then.
        let behind = try t.instance(configure: { $0.trustedProxies = [CIDR("127.0.0.1")!] })
        try await behind.application.test(.live) { client throws in
            let token = try await Self.create(client, management, ["allowed_ips": ["203.0.113.0/24"]])
            var headers = HTTPFields.apiKey(token.secret)
            headers[HTTPField.Name("X-Forwarded-For")!] = "203.0.113.9"
            #expect(try await client.send("/api/logs?source=\(source)", method: .post, headers: headers, body: #"{"message":"z"}"#).status == .ok)
            headers[HTTPField.Name("X-Forwarded-For")!] = "198.51.100.7"
            let refused = try await client.send("/api/logs?source=\(source)", method: .post, headers: headers, body: #"{"message":"w"}"#)
            #expect(try json(refused.body)["message"] as? String == "this token may not be used from 198.51.100.7")
        }
    }

    @Test func allowedOriginsRefuseOtherPagesAndNameOnlyTheAllowedOrigin() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (account, management) = try await t.account()
        let source = try await t.source("app-logs", account: account)
        try await t.application().test(.router) { client throws in
            let token = try await Self.create(client, management, ["allowed_origins": ["https://app.example.com", "https://*.example.org"]])
            func send(_ headers: [(String, String)]) async throws -> (status: HTTPResponse.Status, headers: HTTPFields, body: String) {
                var fields = HTTPFields.apiKey(token.secret)
                for (name, value) in headers { fields[HTTPField.Name(name)!] = value }
                return try await client.send("/api/logs?source=\(source)", method: .post, headers: fields, body: #"{"message":"m"}"#)
            }
            let allowed = try await send([("Origin", "https://app.example.com")])
            #expect(allowed.status == .ok)
            #expect(allowed.headers[.accessControlAllowOrigin] == "https://app.example.com")
            let sub = try await send([("Origin", "https://eu.shop.example.org")])
            #expect(sub.status == .ok && sub.headers[.accessControlAllowOrigin] == "https://eu.shop.example.org")
            let evil = try await send([("Origin", "https://evil.example")])
            #expect(evil.status == .forbidden)
            #expect(evil.headers[.accessControlAllowOrigin] == "https://app.example.com", "the CORS answer names only an allowed origin")
            #expect(evil.body.contains("https://evil.example"))
            for other in ["https://example.org", "http://app.example.com", "https://app.example.com:8443", "https://app.example.com.evil.example"] {
                #expect(try await send([("Origin", other)]).status == .forbidden, "\(other)")
            }
            // Referer counts when Origin is absent; neither is allowed unless require_origin.
            #expect(try await send([("Referer", "https://app.example.com/checkout?step=2")]).status == .ok)
            #expect(try await send([("Referer", "https://evil.example/page")]).status == .forbidden)
            #expect(try await send([]).status == .ok)
            let patched = try await client.send(
                "/api/access-tokens/\(token.id)", method: .patch, headers: .apiKey(management), body: #"{"require_origin": true}"#)
            #expect(patched.status == .ok)
            // The change reaches the cache through its notification.
            #expect(try await eventually(timeout: .seconds(5)) {
                try await client.send("/api/auth/check", headers: .apiKey(token.secret)).status == .forbidden
            } != nil)
            let bare = try await send([])
            #expect(bare.status == .forbidden && bare.body.contains("web page"), "\(bare.body)")
            // An unrestricted token still answers every page with *.
            var open = HTTPFields.apiKey(management)
            open[.origin] = "https://anywhere.example"
            let any = try await client.send("/api/logs?source=\(source)", method: .post, headers: open, body: #"{"message":"m"}"#)
            #expect(any.headers[.accessControlAllowOrigin] == "*")
            #expect(try await t.eventCount(source: source) == 5)
        }
    }

    /// Disable and enable: 401 "access token is disabled" on every instance within one notification,
    /// back as fast, settings and usage kept, each audited; an instance whose listener is down
    /// verifies against the database meanwhile, so it is right too. Revoked tokens cannot be toggled.
    @Test func disableAndEnableReachEveryInstance() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (account, management) = try await t.account()
        let source = try await t.source("app-logs", account: account)
        let proxy = try t.proxy()
        defer { proxy.stop() }
        let a = try t.instance()
        let b = try t.instance()
        let c = try t.instance(configure: { $0.listenDatabaseURL = proxy.url(for: t.db.url) })
        try await a.application.test(.router) { one throws in
            try await b.application.test(.router) { two throws in
                try await c.application.test(.router) { three throws in
                    for app in [a, b, c] {
                        #expect(await eventually(timeout: .seconds(30)) { app.readiness.isReady && app.readiness.isListenerUp } != nil)
                    }
                    let clients: [any TestClientProtocol] = [one, two, three]
                    let token = try await Self.create(one, management, ["allowed_origins": ["https://app.example.com"]])
                    func use(_ client: any TestClientProtocol) async throws -> (status: HTTPResponse.Status, message: String?) {
                        let answer = try await client.send(
                            "/api/logs?source=\(source)", method: .post, headers: .apiKey(token.secret), body: #"{"m":1}"#)
                        return (answer.status, try? json(answer.body)["message"] as? String)
                    }
                    for client in clients { #expect(try await use(client).status == .ok) }
                    // C's listener goes down (and stays down): C must not trust its cache meanwhile.
                    proxy.refuseNewConnections()
                    let pid = try #require(try await t.listenerPID(of: c))
                    try await t.pool.query("SELECT pg_terminate_backend(\(pid))")
                    #expect(await eventually(timeout: .seconds(5)) { !c.readiness.isListenerUp } != nil)

                    let disabled = try await one.send("/api/access-tokens/\(token.id)/disable", method: .post, headers: .apiKey(management))
                    #expect(disabled.status == .ok, "\(disabled.body)")
                    #expect(try json(disabled.body)["disabled_at"] is String)
                    for client in clients {
                        let took = try await eventually(timeout: .milliseconds(500), every: .milliseconds(1)) {
                            try await use(client) == (.unauthorized, "access token is disabled")
                        }
                        #expect(took != nil, "an instance still accepted the disabled token")
                    }
                    #expect(try await one.send("/api/access-tokens/\(token.id)/enable", method: .post, headers: .apiKey(management)).status == .ok)
                    for client in clients {
                        let took = try await eventually(timeout: .milliseconds(500), every: .milliseconds(1)) { try await use(client).status == .ok }
                        #expect(took != nil, "an instance still refused the enabled token")
                    }
                    proxy.resume()
                    let shown = try json(try await two.send("/api/access-tokens/\(token.id)", headers: .apiKey(management)).body)
                    #expect(shown["disabled_at"] is NSNull && shown["allowed_origins"] as? [String] == ["https://app.example.com"])
                    let actions = try await t.pool.query(
                        "SELECT action FROM audit_events WHERE target_id = \(UUID(uuidString: token.id)!) ORDER BY created_at").rows
                        .map { try $0.decode("action", as: String.self) }
                    #expect(actions == ["token.created", "token.disabled", "token.enabled"])
                    #expect(try await one.send("/api/access-tokens/\(token.id)", method: .delete, headers: .apiKey(management)).status == .noContent)
                    #expect(try await one.send("/api/access-tokens/\(token.id)/disable", method: .post, headers: .apiKey(management)).status == .conflict)
                }
            }
        }
        #expect(try await t.eventCount(source: source) == 6)
    }
}

/// Rate limits per token: 429 with Retry-After and the IETF RateLimit headers, an account default
/// for tokens that set none, events per second on ingest, and the checks on the values.
@Suite struct TokenRateLimitTests {
    @Test func aLimitedTokenIsRefusedPastItsBurstWithTheHeaders() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (account, management) = try await t.account()
        let source = try await t.source("app-logs", account: account)
        try await t.application().test(.router) { client throws in
            for (limit, named) in [
                (#"{"requests_per_second": 0}"#, "requests_per_second"), (#"{"requests_per_second": -5}"#, "requests_per_second"),
                (#"{"requests_per_second": 1.5}"#, "requests_per_second"), (#"{"requests_per_second": 10, "burst": 1e12}"#, "burst"),
                (#"{"burst": 5}"#, "requests_per_second"), (#"{"requests_per_second": 5, "events_per_second": 0}"#, "events_per_second"),
                (#"{"requests_per_second": 5, "per_minute": 1}"#, "per_minute"), (#"{"requests_per_second": "5"}"#, "requests_per_second"),
            ] {
                let answer = try await client.send(
                    "/api/access-tokens", method: .post, headers: .apiKey(management), body: #"{"scopes": ["ingest"], "rate_limit": \#(limit)}"#)
                #expect(answer.status == .unprocessableContent, "\(limit): \(answer.body)")
                #expect(answer.body.contains(named), "\(limit): \(answer.body)")
            }
            let created = try await client.send(
                "/api/access-tokens", method: .post, headers: .apiKey(management),
                body: #"{"scopes": ["ingest"], "rate_limit": {"requests_per_second": 1, "burst": 3}}"#)
            #expect(created.status == .created, "\(created.body)")
            let object = try json(created.body)
            let secret = try #require(object["token"] as? String)
            #expect((object["rate_limit"] as? [String: Any])?["burst"] as? Int == 3)
            var statuses: [HTTPResponse.Status] = []
            var last: (status: HTTPResponse.Status, headers: HTTPFields, body: String)?
            let started = ContinuousClock.now
            for i in 0..<6 {
                let answer = try await client.send("/api/logs?source=\(source)", method: .post, headers: .apiKey(secret), body: #"{"n":\#(i)}"#)
                statuses.append(answer.status)
                #expect(answer.headers[HTTPField.Name("RateLimit-Policy")!] == #""token";q=1;w=1"#, "\(answer.headers)")
                #expect(answer.headers[HTTPField.Name("RateLimit")!]?.hasPrefix(#""token";r="#) == true)
                last = answer
            }
            // The burst of 3 goes at once; then one a second comes back, so however slow the machine,
            // no more got through than the burst and the refills of the time the six took.
            let elapsed = ContinuousClock.now - started
            let refills = Int(elapsed.components.seconds) + 1
            #expect(statuses.prefix(3).allSatisfy { $0 == .ok }, "\(statuses)")
            #expect(statuses.filter { $0 == .ok }.count <= 3 + refills, "\(statuses) in \(elapsed)")
            #expect(statuses.contains(.tooManyRequests) || refills >= 3, "\(statuses) in \(elapsed)")
            // A refusal, and what it says: ten at once cannot all be refilled for, however slow the machine.
            let burst = try await withThrowingTaskGroup(of: (status: HTTPResponse.Status, headers: HTTPFields, body: String).self) { group in
                for _ in 0..<10 {
                    group.addTask { try await client.send("/api/logs?source=\(source)", method: .post, headers: .apiKey(secret), body: "{}") }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            last = burst.first { $0.status == .tooManyRequests } ?? burst.last
            let refused = try #require(last)
            #expect(refused.status == .tooManyRequests)
            #expect(refused.headers[.retryAfter].flatMap { Int($0) }.map { (1...2).contains($0) } == true, "\(refused.headers)")
            #expect(refused.body.contains("rate limit"))
            // An error of a limited token carries the headers too.
            let error = try await client.send("/api/logs?source=\(UUID())", method: .post, headers: .apiKey(secret), body: "{}")
            #expect(error.status == .notFound || error.status == .tooManyRequests)
            #expect(error.headers[HTTPField.Name("RateLimit-Policy")!] != nil)
            // No more events got in than the burst and the refills of the time all this took; the
            // account's other tokens are not limited.
            let sinceStart = ContinuousClock.now - started
            #expect(try await t.eventCount(source: source) <= 3 + Int(sinceStart.components.seconds) + 1, "in \(sinceStart)")
            for _ in 0..<10 {
                #expect(try await client.send("/api/logs?source=\(source)", method: .post, headers: .apiKey(management), body: "{}").status == .ok)
            }
            // Removing the limit lifts it (through the notification).
            let id = try #require(object["id"] as? String)
            #expect(try await client.send("/api/access-tokens/\(id)", method: .patch, headers: .apiKey(management), body: #"{"rate_limit": null}"#).status == .ok)
            #expect(await eventually(timeout: .seconds(5)) {
                (try? await client.send("/api/auth/check", headers: .apiKey(secret)))?.headers[HTTPField.Name("RateLimit")!] == nil
            } != nil)
        }
    }

    /// How many times this test's instances wrote row `token` of `rate_limit_demand` in `period`
    /// (distinct `updated_at` values seen, polling every 20 ms).
    static func writes(_ t: TestApp, token: UUID, over period: Duration) async throws -> Int {
        var seen = Set<String>()
        let clock = ContinuousClock()
        let end = clock.now + period
        while clock.now < end {
            for row in try await t.pool.query("SELECT updated_at::text AS at FROM rate_limit_demand WHERE token_id = \(token)").rows {
                seen.insert(try row.decode("at"))
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return seen.count
    }

    /// An instance whose limiter holds no token writes only its heartbeat, about once a second; a
    /// limited token's first request brings back the exchange every 250 ms, on the next tick.
    @Test func theExchangeIdlesUntilALimitedTokenIsUsed() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (account, management) = try await t.account()
        let source = try await t.source("app-logs", account: account)
        let heartbeat = UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
        let app = try t.instance()
        try await app.application.test(.router) { client throws in
            #expect(await eventually(timeout: .seconds(30)) { app.readiness.isReady } != nil)
            #expect(await eventually(timeout: .seconds(5)) {
                (try? await t.count("SELECT count(*) AS n FROM rate_limit_demand WHERE token_id = \(heartbeat)")) == 1
            } != nil)
            // Idle: one write a second (three or four in 3 s; every 250 ms would be twelve).
            let idle = try await Self.writes(t, token: heartbeat, over: .seconds(3))
            // A loaded machine may slow the loop (fewer writes), never speed it up.
            #expect((1...5).contains(idle), "\(idle) heartbeat writes in 3 s")
            #expect(try await t.count("SELECT count(*) AS n FROM rate_limit_demand WHERE token_id <> \(heartbeat)") == 0)
            // A limited token's first request: its demand is published within a tick or two.
            let token = try await TokenAbuseControlTests.create(client, management, ["rate_limit": ["requests_per_second": 100]])
            let tokenID = try #require(UUID(uuidString: token.id))
            let answer = try await client.send("/api/logs?source=\(source)", method: .post, headers: .apiKey(token.secret), body: "{}")
            #expect(answer.status == .ok, "\(answer.body)")
            let published = await eventually(timeout: .seconds(3), every: .milliseconds(5)) {
                (try? await t.count("SELECT count(*) AS n FROM rate_limit_demand WHERE token_id = \(tokenID)")) == 1
            }
            // Within a tick or two on a quiet machine; the bound here is only that it comes.
            #expect(published != nil, "the limited token's demand was never published")
            // While the limiter holds it, every tick exchanges (twelve in 3 s): a loaded machine slows
            // both cadences alike, so the busy one is compared with the idle one.
            // Load only slows the loop, so a lower bound on the busy cadence would measure the
            // machine; that every tick exchanges while a token is held is RateLimitExchangeScheduleTests'
            // to show. Here: the token's demand keeps being written.
            let busy = try await Self.writes(t, token: tokenID, over: .seconds(3))
            #expect(busy >= 2, "\(busy) exchanges in 3 s while holding a limited token, \(idle) idle")
        }
    }

    @Test func theAccountDefaultAppliesToTokensThatSetNone() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (account, management) = try await t.account()
        let source = try await t.source("app-logs", account: account)
        let own = try await t.token([.ingest], account: account)
        try await t.application().test(.router) { client throws in
            let patched = try await client.send(
                "/api/account", method: .patch, headers: .apiKey(management),
                body: #"{"default_rate_limit": {"requests_per_second": 1, "burst": 2, "events_per_second": 3}}"#)
            #expect(patched.status == .ok, "\(patched.body)")
            #expect((try json(patched.body)["default_rate_limit"] as? [String: Any])?["events_per_second"] as? Int == 3)
            #expect(try await client.send("/api/account", method: .patch, headers: .apiKey(management), body: #"{"default_rate_limit": {"requests_per_second": 0}}"#).status == .unprocessableContent)
            // The change reaches the cache through its notification, then the token is limited.
            #expect(await eventually(timeout: .seconds(5)) {
                (try? await client.send("/api/auth/check", headers: .apiKey(own.secret)))?.headers[HTTPField.Name("RateLimit-Policy")!] != nil
            } != nil)
            // Ten requests of three events at once against 3 events a second: some are refused
            // with 429, and a refused one stores nothing, however the machine times them.
            let answers = try await withThrowingTaskGroup(of: (status: HTTPResponse.Status, headers: HTTPFields, body: String).self) { group in
                for i in 0..<10 {
                    group.addTask {
                        try await client.send(
                            "/api/logs?source=\(source)", method: .post, headers: .apiKey(own.secret),
                            body: #"[{"a":\#(i)},{"a":\#(i)},{"a":\#(i)}]"#)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let refused = answers.filter { $0.status == .tooManyRequests }
            #expect(!refused.isEmpty, "\(answers.map(\.status))")
            // Refused by the request limit (burst 2) or by the event limit, which says nothing was stored.
            #expect(refused.allSatisfy { $0.headers[.retryAfter] != nil })
            #expect(refused.allSatisfy { !$0.body.contains("event limit") || $0.body.contains("nothing was stored") })
            #expect(answers.allSatisfy { $0.status == .ok || $0.status == .tooManyRequests }, "\(answers.map(\.status))")
            let stored = try await t.eventCount(source: source)
            #expect(stored == 3 * answers.filter { $0.status == .ok }.count, "a refused request stored nothing")
            #expect(try await client.send("/api/account", method: .patch, headers: .apiKey(management), body: #"{"default_rate_limit": null}"#).status == .ok)
            let shown = try json(try await client.send("/api/account", headers: .apiKey(management)).body)
            #expect(shown["default_rate_limit"] is NSNull)
        }
    }
}
