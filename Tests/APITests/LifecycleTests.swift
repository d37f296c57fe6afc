import Foundation
import HTTPTypes
import HummingbirdTesting
import KeyflareCore
import KeyflareHTTP
import KeyflareServer
import KeyflareStore
import PQ
import PQServices
import Testing

@testable import KeyflareTestSupport

@Suite struct LifecycleTests {
    func ready(_ app: KeyflareApp) async throws {
        let ok = await eventually(timeout: .seconds(30)) { app.readiness.isReady && app.readiness.isListenerUp }
        #expect(ok != nil)
    }

    @Test func expiryByDateOrDurationAndExpiredTokensStayListed() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (_, management) = try await t.account()
        try await t.application().test(.router) { client throws in
            // Ten seconds, not one: while the whole suite runs on a 2-core machine, several seconds have
            // passed between creating the token and the first check.
            let short = try await client.send("/api/access-tokens", method: .post, headers: .apiKey(management), body: #"{"expires_in":10}"#)
            #expect(short.status == .created)
            let object = try json(short.body)
            let secret = try #require(object["token"] as? String)
            let id = try #require(object["id"] as? String)
            let expiresAt = try #require((object["expires_at"] as? String).flatMap(RFC3339.parse))
            #expect(abs(expiresAt.timeIntervalSinceNow - 10) < 5)
            #expect(try await client.send("/api/auth/check", headers: .apiKey(secret)).status == .ok)
            try await Task.sleep(for: .seconds(max(0, expiresAt.timeIntervalSinceNow) + 0.2))
            let expired = try await client.send("/api/auth/check", headers: .apiKey(secret))
            #expect(expired.status == .unauthorized)
            #expect(expired.body.contains("expired"))
            let listed = try jsonArray(try await client.send("/api/access-tokens", headers: .apiKey(management)).body)
            #expect(listed.contains { $0["id"] as? String == id && $0["expires_at"] is String })
            let future = RFC3339.format(Date().addingTimeInterval(86_400))
            #expect(try await client.send("/api/access-tokens", method: .post, headers: .apiKey(management), body: #"{"expires_at":"\#(future)"}"#).status == .created)
            #expect(try await client.send("/api/access-tokens", method: .post, headers: .apiKey(management), body: #"{"expires_in":0}"#).status == .unprocessableContent)
        }
    }

    @Test func rollWithGraceKeepsBothUntilTheOldExpires() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (accountID, management) = try await t.account()
        let source = try await t.source("web", account: accountID)
        let old = try await t.token([.ingestSource(source), .query], account: accountID)
        let app = try t.instance()
        try await app.application.test(.router) { client throws in
            try await ready(app)
            #expect(try await client.send("/api/auth/check", headers: .apiKey(old.secret)).status == .ok)
            let rolled = try await client.send(
                "/api/access-tokens/\(old.id)/roll", method: .post, headers: .apiKey(management), body: #"{"grace_seconds":2}"#
            )
            #expect(rolled.status == .created, "\(rolled.body)")
            let object = try json(rolled.body)
            let newSecret = try #require(object["token"] as? String)
            #expect(object["scopes"] as? [String] == ["ingest:source:\(source.uuidString.lowercased())", "query"])
            #expect(object["description"] as? String == "test")
            let previous = try #require(object["previous"] as? [String: Any])
            #expect(previous["id"] as? String == old.id.uuidString.lowercased())
            let oldExpiry = try #require((previous["expires_at"] as? String).flatMap(RFC3339.parse))
            #expect(abs(oldExpiry.timeIntervalSinceNow - 2) < 2)
            #expect(previous["revoked_at"] is NSNull)
            // During the grace period both work; afterwards only the new one.
            #expect(try await client.send("/api/auth/check", headers: .apiKey(old.secret)).status == .ok)
            #expect(try await client.send("/api/auth/check", headers: .apiKey(newSecret)).status == .ok)
            try await Task.sleep(until: .now + .seconds(2.5))
            let after = try await client.send("/api/auth/check", headers: .apiKey(old.secret))
            #expect(after.status == .unauthorized)
            #expect(after.body.contains("expired"))
            #expect(try await client.send("/api/auth/check", headers: .apiKey(newSecret)).status == .ok)
            // An expired or revoked token cannot be rolled again.
            let again = try await client.send("/api/access-tokens/\(old.id)/roll", method: .post, headers: .apiKey(management), body: "{}")
            #expect(again.status == .conflict)
            let tooLong = try await client.send(
                "/api/access-tokens/\(try #require(object["id"] as? String))/roll", method: .post, headers: .apiKey(management),
                body: #"{"grace_seconds":2592001}"#
            )
            #expect(tooLong.status == .unprocessableContent)
        }
    }

    @Test func rollWithoutGraceRevokesTheOldTokenOnEveryInstance() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (accountID, management) = try await t.account()
        let old = try await t.token([.ingest], account: accountID)
        let a = try t.instance()
        let b = try t.instance()
        try await a.application.test(.router) { clientA throws in
            try await b.application.test(.router) { clientB throws in
                try await ready(a)
                try await ready(b)
                #expect(try await clientB.send("/api/auth/check", headers: .apiKey(old.secret)).status == .ok)
                let rolled = try await clientA.send("/api/access-tokens/\(old.id)/roll", method: .post, headers: .apiKey(management))
                #expect(rolled.status == .created)
                #expect((try json(rolled.body)["previous"] as? [String: Any])?["revoked_at"] is String)
                let newSecret = try #require(json(rolled.body)["token"] as? String)
                let rejected = try await eventually(timeout: .milliseconds(100), every: .milliseconds(1)) {
                    try await clientB.send("/api/auth/check", headers: .apiKey(old.secret)).status == .unauthorized
                }
                #expect(rejected != nil)
                #expect(try await clientB.send("/api/auth/check", headers: .apiKey(newSecret)).status == .ok)
                #expect(try await clientA.send("/api/access-tokens/\(old.id)/roll", method: .post, headers: .apiKey(management)).status == .conflict)
            }
        }
    }

    @Test func usageFromTwoInstancesAddsUp() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (accountID, management) = try await t.account()
        let token = try await t.token([.ingest], account: accountID)
        // A long interval: only the flush on graceful shutdown writes these counts.
        let a = try t.instance(configure: { $0.usageFlushSeconds = 10 })
        let b = try t.instance(configure: { $0.usageFlushSeconds = 10 })
        let started = ContinuousClock.now
        try await a.application.test(.router) { clientA throws in
            try await b.application.test(.router) { clientB throws in
                for _ in 0..<7 { #expect(try await clientA.send("/api/auth/check", headers: .apiKey(token.secret)).status == .ok) }
                for _ in 0..<5 { #expect(try await clientB.send("/api/auth/check", headers: .apiKey(token.secret)).status == .ok) }
                // Still in memory, unless a loaded machine took longer than the interval to get here.
                if ContinuousClock.now - started < .seconds(9) { #expect(a.usage.pending >= 7 && b.usage.pending == 5) }
            }
        }
        // Both instances have shut down, flushing on the way out.
        let row = try #require(try await t.pool.query(
            "SELECT requests, (SELECT last_used_at FROM access_tokens WHERE id = \(token.id)) AS last FROM token_usage_daily WHERE token_id = \(token.id)"
        ).first)
        #expect(try row.decode("requests", as: Int.self) == 12)
        #expect(try row.decodeIfPresent("last", as: Date.self) != nil)

        try await t.application().test(.router) { client throws in
            let listed = try json(try await client.send("/api/access-tokens/\(token.id)", headers: .apiKey(management)).body)
            #expect(listed["requests_today"] as? Int == 12)
            #expect(listed["last_used_at"] is String)
            let usage = try json(try await client.send("/api/access-tokens/\(token.id)/usage?days=3", headers: .apiKey(management)).body)
            let days = try #require(usage["days"] as? [[String: Any]])
            #expect(days.count == 3)
            #expect(days.last?["requests"] as? Int == 12)
            #expect(days.first?["requests"] as? Int == 0)
            #expect(days.last?["day"] as? String == String(RFC3339.format(Date()).prefix(10)))
            #expect(try await client.send("/api/access-tokens/\(token.id)/usage?days=0", headers: .apiKey(management)).status == .badRequest)
        }
    }

    @Test func concurrentFlushesLoseNoUpdate() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (accountID, _) = try await t.account()
        let token = try await t.token([.ingest], account: accountID)
        let store = UsageStore(pool: t.pool)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    let counter = UsageCounter()
                    for _ in 0..<10 { counter.record(token.id) }
                    try await store.flush(counter.drain())
                }
            }
            try await group.waitForAll()
        }
        let total = try await t.pool.query("SELECT sum(requests) AS n FROM token_usage_daily WHERE token_id = \(token.id)").first!
        #expect(try total.decode("n", as: Int.self) == 200)
    }

    @Test func auditRowsCommitWithTheirChangeAndOnlyThen() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (accountID, management) = try await t.account()
        let (other, otherManagement) = try await t.account("Other")
        _ = other
        try await t.application().test(.router) { client throws in
            var headers: HTTPFields = .apiKey(management)
            headers[.userAgent] = "audit-test/1.0"
            let created = try json(try await client.send("/api/sources", method: .post, headers: headers, body: #"{"name":"web"}"#).body)
            let sourceID = try #require(created["id"] as? String)
            try await client.send("/api/sources/\(sourceID)", method: .patch, headers: headers, body: #"{"name":"www"}"#)
            let token = try json(try await client.send("/api/access-tokens", method: .post, headers: headers, body: #"{"scopes":["ingest"]}"#).body)
            let tokenID = try #require(token["id"] as? String)
            let secret = try #require(token["token"] as? String)
            try await client.send("/api/access-tokens/\(tokenID)/roll", method: .post, headers: headers, body: #"{"grace_seconds":60}"#)
            try await client.send("/api/access-tokens/\(tokenID)", method: .delete, headers: headers)
            try await client.send("/api/access-tokens/\(tokenID)", method: .delete, headers: headers)
            let endpoint = try json(try await client.send("/api/endpoints", method: .post, headers: headers, body: #"{"name":"e","sql":"select 1 as one"}"#).body)
            let endpointID = try #require(endpoint["id"] as? String)
            try await client.send("/api/endpoints/\(endpointID)", method: .patch, headers: headers, body: #"{"description":"x"}"#)
            try await client.send("/api/endpoints/\(endpointID)", method: .delete, headers: headers)
            try await client.send("/api/sources/\(sourceID)", method: .delete, headers: headers)

            // Failed changes leave no row: a duplicate name, a bad scope, bad SQL, another account's source.
            try await client.send("/api/sources", method: .post, headers: headers, body: #"{"name":"dup"}"#)
            #expect(try await client.send("/api/sources", method: .post, headers: headers, body: #"{"name":"dup"}"#).status == .conflict)
            #expect(try await client.send("/api/access-tokens", method: .post, headers: headers, body: #"{"scopes":["nope"]}"#).status == .unprocessableContent)
            #expect(try await client.send("/api/endpoints", method: .post, headers: headers, body: #"{"name":"bad","sql":"select * from nowhere"}"#).status == .unprocessableContent)
            let theirs = try json(try await client.send("/api/sources", method: .post, headers: .apiKey(otherManagement), body: #"{"name":"theirs"}"#).body)
            #expect(try await client.send("/api/sources/\(try #require(theirs["id"] as? String))", method: .delete, headers: headers).status == .notFound)

            let page = try json(try await client.send("/api/audit-events?limit=100", headers: .apiKey(management)).body)
            let events = try #require(page["data"] as? [[String: Any]])
            let actions = events.map { $0["action"] as? String ?? "" }
            #expect(actions == [
                "source.created", "source.deleted", "endpoint.deleted", "endpoint.updated", "endpoint.created",
                "token.revoked", "token.rolled", "token.created", "token.created", "source.updated", "source.created",
                "token.created",
            ], "newest first; one revocation though two DELETEs; nothing for the failures")
            let revoked = try #require(events.first { $0["action"] as? String == "token.revoked" })
            #expect(revoked["target_id"] as? String == tokenID)
            #expect(revoked["actor_type"] as? String == "token")
            #expect(revoked["user_agent"] as? String == "audit-test/1.0")
            #expect(!page.description.contains(secret))
            #expect(!page.description.contains(management))

            // Paging: newest first, `next` continues where the page stopped.
            let first = try json(try await client.send("/api/audit-events?limit=5", headers: .apiKey(management)).body)
            let next = try #require(first["next"] as? String)
            let second = try json(try await client.send("/api/audit-events?limit=100&before=\(next)", headers: .apiKey(management)).body)
            let paged = ((first["data"] as? [[String: Any]]) ?? []) + ((second["data"] as? [[String: Any]]) ?? [])
            #expect(paged.map { $0["id"] as? String } == events.map { $0["id"] as? String })
            #expect(second["next"] is NSNull)
            #expect(try await client.send("/api/audit-events?limit=0", headers: .apiKey(management)).status == .badRequest)
        }
        #expect(try await t.count("SELECT count(*) AS n FROM audit_events WHERE account_id = \(accountID)") == 12)
        #expect(try await t.count(
            "SELECT count(*) AS n FROM audit_events WHERE coalesce(user_agent, '') LIKE 'kf_%' OR coalesce(ip, '') LIKE 'kf_%'"
        ) == 0)
    }

    @Test func anAuditWriteThatFailsUndoesTheChange() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (accountID, _) = try await t.account()
        let store = SourceStore(pool: t.pool)
        // Make every audit insert fail: the source insert in the same transaction must go too.
        try await t.pool.query("ALTER TABLE audit_events ADD CONSTRAINT no_more CHECK (false) NOT VALID")
        await #expect(throws: PQError.self) { try await store.create(name: "ghost", accountID: accountID, actor: .operator) }
        #expect(try await store.find(name: "ghost", accountID: accountID) == nil)
    }
}
