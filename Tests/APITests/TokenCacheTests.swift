import Foundation
import HTTPTypes
import HummingbirdTesting
import KeyflareCore
import KeyflareHTTP
import KeyflareServer
import Testing

@testable import KeyflareTestSupport

/// Two instances sharing one database, each with its own cache and listener.
@Suite struct TokenCacheTests {
    /// Waits until an instance has reached the database and its listener is up.
    func ready(_ app: KeyflareApp) async throws {
        let ok = await eventually(timeout: .seconds(30)) { app.readiness.isReady && app.readiness.isListenerUp }
        #expect(ok != nil, "instance \(app.instanceID) never became ready")
    }

    @Test func revocationReachesEveryInstanceAtOnce() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (accountID, management) = try await t.account()
        let a = try t.instance()
        let b = try t.instance()
        let viaAPI = try await t.token([.ingest], account: accountID)
        let viaSQL = try await t.token([.ingest], account: accountID)
        try await a.application.test(.router) { clientA throws in
            try await b.application.test(.router) { clientB throws in
                try await ready(a)
                try await ready(b)
                for token in [viaAPI.secret, viaSQL.secret] {
                    for client in [clientA, clientB] as [any TestClientProtocol] {
                        #expect(try await client.send("/api/auth/check", headers: .apiKey(token)).status == .ok)
                    }
                }
                #expect(a.tokenCache.count >= 2 && b.tokenCache.count >= 2, "both caches hold both tokens")
                // A cached verification needs no database: these are hits.
                let hitsBefore = String(decoding: b.metrics.render(), as: UTF8.self)
                #expect(hitsBefore.contains("keyflare_token_cache_hits_total"))

                // Revoked through A: B rejects within 100 ms, with nothing but the notification to go on.
                #expect(try await clientA.send("/api/access-tokens/\(viaAPI.id)", method: .delete, headers: .apiKey(management)).status == .noContent)
                let propagation = try await eventually(timeout: .milliseconds(100), every: .milliseconds(1)) {
                    try await clientB.send("/api/auth/check", headers: .apiKey(viaAPI.secret)).status == .unauthorized
                }
                #expect(propagation != nil, "B still accepted the token revoked through A after 100 ms")

                // Revoked by an operator in plain SQL: both reject.
                try await t.pool.query("UPDATE access_tokens SET revoked_at = now() WHERE id = \(viaSQL.id)")
                for client in [clientA, clientB] as [any TestClientProtocol] {
                    let rejected = try await eventually(timeout: .milliseconds(100), every: .milliseconds(1)) {
                        try await client.send("/api/auth/check", headers: .apiKey(viaSQL.secret)).status == .unauthorized
                    }
                    #expect(rejected != nil)
                }
                // The management token, untouched, still verifies from cache on both.
                #expect(try await clientB.send("/api/auth/check", headers: .apiKey(management)).status == .ok)
            }
        }
    }

    @Test func listenerOutageFallsBackToTheDatabaseAndRecovers() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (accountID, _) = try await t.account()
        let proxy = try t.proxy()
        defer { proxy.stop() }
        let b = try t.instance(configure: { $0.listenDatabaseURL = proxy.url(for: t.db.url) })
        let token = try await t.token([.ingest], account: accountID)
        try await b.application.test(.router) { client throws in
            try await ready(b)
            #expect(try await client.send("/api/auth/check", headers: .apiKey(token.secret)).status == .ok)
            #expect(try await client.send("/api/auth/check", headers: .apiKey(token.secret)).status == .ok)

            // Kill B's listener backend, and keep it from reconnecting for now.
            proxy.refuseNewConnections()
            let pid = try #require(try await t.listenerPID(of: b))
            try await t.pool.query("SELECT pg_terminate_backend(\(pid))")
            #expect(await eventually(timeout: .seconds(5)) { !b.readiness.isListenerUp } != nil)

            // During the outage: /readyz stays 200 but says so, and a token revoked now is rejected.
            let readyz = try await client.send("/readyz")
            #expect(readyz.status == .ok)
            #expect(try json(readyz.body)["listener"] as? String == "down")
            try await t.pool.query("UPDATE access_tokens SET revoked_at = now() WHERE id = \(token.id)")
            #expect(try await client.send("/api/auth/check", headers: .apiKey(token.secret)).status == .unauthorized)

            // Recovery: the listener comes back, the cache is trusted again (empty) and still right.
            proxy.resume()
            #expect(await eventually(timeout: .seconds(10)) { b.readiness.isListenerUp } != nil)
            #expect(try json(try await client.send("/readyz").body)["listener"] as? String == "up")
            #expect(try await client.send("/api/auth/check", headers: .apiKey(token.secret)).status == .unauthorized)
            let fresh = try await t.token([.ingest], account: accountID)
            #expect(try await client.send("/api/auth/check", headers: .apiKey(fresh.secret)).status == .ok)
            try await t.pool.query("UPDATE access_tokens SET revoked_at = now() WHERE id = \(fresh.id)")
            #expect(try await eventually(timeout: .milliseconds(100), every: .milliseconds(1)) {
                try await client.send("/api/auth/check", headers: .apiKey(fresh.secret)).status == .unauthorized
            } != nil)
            #expect(String(decoding: b.metrics.render(), as: UTF8.self).contains("keyflare_listener_reconnects_total 1"))
        }
    }

    /// An instance whose LISTEN connection goes through `proxy`, noticing failures within `detection` s.
    func instance(_ t: TestApp, listeningThrough proxy: TCPProxy, detection: Double) throws -> KeyflareApp {
        try t.instance(configure: {
            $0.listenDatabaseURL = proxy.url(for: t.db.url)
            $0.listenDetectionSeconds = detection
        })
    }

    @Test func halfOpenListenerIsDetectedWithinTheConfiguredTime() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (accountID, _) = try await t.account()
        let proxy = try t.proxy()
        defer { proxy.stop() }
        let detection = 2.0
        let b = try instance(t, listeningThrough: proxy, detection: detection)
        let token = try await t.token([.ingest], account: accountID)
        try await b.application.test(.router) { client throws in
            try await ready(b)
            #expect(try await client.send("/api/auth/check", headers: .apiKey(token.secret)).status == .ok)
            // Traffic stops, nothing is closed: only the heartbeat can tell.
            proxy.pause()
            let noticed = await eventually(timeout: .seconds(detection * 2), every: .milliseconds(20)) { !b.readiness.isListenerUp }
            let elapsed = try #require(noticed, "the half-open listener was never noticed")
            // The probe fires at the configured time; a loaded machine may wake the listener's
            // thread late, so the bound allows it half as much again (seen: 2.6 s for 2 s with 70
            // suites on two cores).
            #expect(elapsed <= .seconds(detection * 1.5), "noticed after \(elapsed), configured \(detection) s")
            // From then on the database decides: a revocation now is honoured at once.
            try await t.pool.query("UPDATE access_tokens SET revoked_at = now() WHERE id = \(token.id)")
            #expect(try await client.send("/api/auth/check", headers: .apiKey(token.secret)).status == .unauthorized)
            proxy.resume()
            #expect(await eventually(timeout: .seconds(30)) { b.readiness.isListenerUp } != nil)
        }
    }

    @Test func aListenerThatReceivesNoNotificationsIsNeverTrusted() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (accountID, _) = try await t.account()
        // Queries pass, notifications do not: LISTEN through a transaction-pooling PgBouncer.
        let proxy = try t.proxy(readsBackendMessages: true)
        defer { proxy.stop() }
        proxy.dropNotifications()
        let detection = 2.0
        let b = try instance(t, listeningThrough: proxy, detection: detection)
        let token = try await t.token([.ingest], account: accountID)
        try await b.application.test(.router) { client throws in
            #expect(await eventually(timeout: .seconds(30)) { b.readiness.isReady } != nil)
            // Connected and answering queries, but never reported up, so the cache is not trusted.
            #expect(await eventually(timeout: .seconds(detection * 1.5)) { b.readiness.isListenerUp } == nil)
            #expect(try json(try await client.send("/readyz").body)["listener"] as? String == "down")
            #expect(try await client.send("/api/auth/check", headers: .apiKey(token.secret)).status == .ok)
            try await t.pool.query("UPDATE access_tokens SET revoked_at = now() WHERE id = \(token.id)")
            #expect(try await client.send("/api/auth/check", headers: .apiKey(token.secret)).status == .unauthorized)
            #expect(t.log.text.contains("probe notification never came back"))

            // Notifications flow: the listener comes up, and revocations arrive by NOTIFY.
            proxy.deliverNotifications()
            #expect(await eventually(timeout: .seconds(30)) { b.readiness.isListenerUp } != nil)
            let cached = try await t.token([.ingest], account: accountID)
            #expect(try await client.send("/api/auth/check", headers: .apiKey(cached.secret)).status == .ok)

            // They stop again while the connection stays healthy: noticed within the detection time.
            proxy.dropNotifications()
            let clock = ContinuousClock()
            let dropped = clock.now
            while b.readiness.isListenerUp, clock.now - dropped < .seconds(detection * 2) {
                try await Task.sleep(for: .milliseconds(20))
            }
            let elapsed = clock.now - dropped
            #expect(!b.readiness.isListenerUp, "lost notifications were never noticed")
            // The probe fires at the configured time; a loaded machine may wake the listener's
            // thread late, so the bound allows it half as much again (seen: 2.6 s for 2 s with 70
            // suites on two cores).
            #expect(elapsed <= .seconds(detection * 1.5), "noticed after \(elapsed), configured \(detection) s")
            try await t.pool.query("UPDATE access_tokens SET revoked_at = now() WHERE id = \(cached.id)")
            #expect(try await client.send("/api/auth/check", headers: .apiKey(cached.secret)).status == .unauthorized)
        }
    }

    @Test func aFillThatRacesARevocationIsNotStored() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (accountID, _) = try await t.account()
        let gate = Gate()
        let app = try t.instance(pauseBeforeCacheFill: { await gate.pauseFirstCaller() })
        let token = try await t.token([.ingest], account: accountID)
        try await app.application.test(.router) { client throws in
            try await ready(app)
            // 1. A verification reads the (still valid) token from the database and stops before
            //    writing it to the cache.
            async let inFlight = client.send("/api/auth/check", headers: .apiKey(token.secret))
            await gate.waitUntilPaused()
            // 2. The token is revoked, and the invalidation arrives while the fill is paused.
            let before = app.tokenCache.generation
            try await t.pool.query("UPDATE access_tokens SET revoked_at = now() WHERE id = \(token.id)")
            #expect(await eventually(timeout: .seconds(5)) { app.tokenCache.generation > before } != nil)
            // 3. The fill resumes. Its request started before the revocation and may succeed...
            await gate.release()
            #expect(try await inFlight.status == .ok)
            // 4. ...but its stale result was not cached: the next request is rejected.
            #expect(try await client.send("/api/auth/check", headers: .apiKey(token.secret)).status == .unauthorized)
            #expect(app.tokenCache.count <= 1)
        }
    }

    @Test func aTokenCreatedRightAfterAnUnknownLookupIsAcceptedEverywhere() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (accountID, _) = try await t.account()
        // Negative entries live long here, so only invalidation can explain acceptance.
        let a = try t.instance(configure: { $0.tokenCacheNegativeTTL = 60 })
        let b = try t.instance(configure: { $0.tokenCacheNegativeTTL = 60 })
        let secret = TokenFormat.generate(kind: .public)
        try await a.application.test(.router) { clientA throws in
            try await b.application.test(.router) { clientB throws in
                try await ready(a)
                try await ready(b)
                for client in [clientA, clientB] as [any TestClientProtocol] {
                    let response = try await client.send("/api/auth/check", headers: .apiKey(secret))
                    #expect(response.status == .unauthorized)
                    #expect(response.body.contains("unknown"))
                }
                #expect(a.tokenCache.count == 1 && b.tokenCache.count == 1, "both hold a negative entry")
                let digest = TokenFormat.digest(of: secret)
                try await t.pool.query(
                    """
                    INSERT INTO access_tokens (account_id, scopes, token_hash, hint)
                    VALUES (\(accountID), \(["ingest"]), decode(\(digest.hex), 'hex'), \(TokenFormat.hint(of: secret)))
                    """
                )
                for client in [clientA, clientB] as [any TestClientProtocol] {
                    let accepted = try await eventually(timeout: .milliseconds(200), every: .milliseconds(1)) {
                        try await client.send("/api/auth/check", headers: .apiKey(secret)).status == .ok
                    }
                    #expect(accepted != nil)
                }
            }
        }
    }

    @Test func metricsAreExported() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (_, management) = try await t.account()
        let app = try t.instance()
        try await app.application.test(.router) { client throws in
            try await ready(app)
            for _ in 0..<3 { try await client.send("/api/auth/check", headers: .apiKey(management)) }
            try await client.send("/api/sources/\(UUID())", headers: .apiKey(management))
            let response = try await client.send("/metrics")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
            let text = response.body
            // The first verification misses; the other two and the 404's are hits.
            #expect(text.contains("keyflare_token_cache_hits_total 3"))
            #expect(text.contains("keyflare_token_cache_misses_total 1"))
            #expect(text.contains("keyflare_token_cache_invalidations_total"))
            #expect(text.contains("keyflare_listener_reconnects_total 0"))
            #expect(text.contains(#"keyflare_auth_verification_duration_seconds_bucket{le="0.000001"}"#))
            #expect(text.contains(#"keyflare_http_requests_total{route="/api/auth/check",method="GET",status="200"} 3"#))
            #expect(text.contains(#"route="/api/sources/{id}",method="GET",status="404""#))
            #expect(!text.contains(management))
        }
    }
}

/// Holds the first caller until released; later callers pass straight through.
actor Gate {
    private var used = false
    private var paused: CheckedContinuation<Void, Never>?
    private var pausedWaiters: [CheckedContinuation<Void, Never>] = []
    private var isPaused = false

    func pauseFirstCaller() async {
        guard !used else { return }
        used = true
        await withCheckedContinuation { continuation in
            paused = continuation
            isPaused = true
            for waiter in pausedWaiters { waiter.resume() }
            pausedWaiters = []
        }
    }

    func waitUntilPaused() async {
        if isPaused { return }
        await withCheckedContinuation { pausedWaiters.append($0) }
    }

    func release() {
        paused?.resume()
        paused = nil
    }
}
