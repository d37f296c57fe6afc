import Foundation
import HTTPTypes
import HummingbirdTesting
import KeyflareCore
import KeyflareServer
import PQ
import Testing

@testable import KeyflareTestSupport

/// Canary tokens and rolled tokens used after their grace period: refused exactly as they would be
/// otherwise (a canary as an unknown token), and recorded with who used them from where.
@Suite struct TokenTripwireTests {
    static func events(_ t: TestApp, _ action: String, token: String) async throws -> [Row] {
        try await t.pool.query(
            """
            SELECT actor_type, actor_id, ip, user_agent, detail::text AS detail FROM audit_events
            WHERE action = \(action) AND target_id = \(UUID(uuidString: token)!)
            """
        ).rows
    }

    @Test func aCanaryIsAnUnknownTokenInEveryWayAndIsRecorded() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (account, management) = try await t.account()
        let source = try await t.source("web", account: account)
        try await t.application().test(.router) { client throws in
            // It takes no limits or allow-lists: it grants nothing to limit.
            let refused = try await client.send(
                "/api/access-tokens", method: .post, headers: .apiKey(management),
                body: #"{"canary": true, "rate_limit": {"requests_per_second": 5}}"#)
            #expect(refused.status == .unprocessableContent)
            let created = try await client.send(
                "/api/access-tokens", method: .post, headers: .apiKey(management),
                body: #"{"canary": true, "scopes": ["management"], "description": "in the old wiki"}"#)
            #expect(created.status == .created)
            let object = try json(created.body)
            let id = try #require(object["id"] as? String)
            let canary = try #require(object["token"] as? String)
            #expect(object["canary"] as? Bool == true)
            #expect(canary.hasPrefix("kf_prv_"), "it looks like the management token it pretends to be")

            // The same request with a token that does not exist, and with the canary: same answer.
            let unknown = TokenFormat.generate(kind: .private)
            func attempt(_ secret: String) async throws -> (status: HTTPResponse.Status, headers: HTTPFields, body: String) {
                var headers = HTTPFields.bearer(secret)
                headers[.userAgent] = "curl/8.0 (thief)"
                headers[.origin] = "https://evil.example"
                return try await client.send("/api/logs?source=\(source)", method: .post, headers: headers, body: #"{"m":1}"#)
            }
            for _ in 0..<2 {  // the first use looks the token up, the second is answered from the cache
                let a = try await attempt(unknown), b = try await attempt(canary)
                #expect(a.status == .unauthorized && b.status == .unauthorized)
                #expect(a.body == b.body, "\(a.body) / \(b.body)")
                func names(_ fields: HTTPFields) -> [String] { fields.map { $0.name.canonicalName }.filter { $0 != "date" }.sorted() }
                #expect(names(a.headers) == names(b.headers))
                #expect(a.headers[.contentType] == b.headers[.contentType])
            }
            // Also on management routes: the canary's decoy scopes grant nothing.
            #expect(try await client.send("/api/access-tokens", headers: .bearer(canary)).status == .unauthorized)

            let recorded = try await eventually(timeout: .seconds(10), every: .milliseconds(50)) {
                try await !Self.events(t, "token.canary_used", token: id).isEmpty
            }
            #expect(recorded != nil, "the canary's use was recorded")
            // Three uses within a minute from one address: one record.
            try await Task.sleep(for: .milliseconds(600))
            let rows = try await Self.events(t, "token.canary_used", token: id)
            #expect(rows.count == 1)
            let row = try #require(rows.first)
            #expect(try row.decode("actor_type", as: String.self) == "token")
            #expect(try row.decode("user_agent", as: String.self) == "curl/8.0 (thief)")
            let detail = try json(try row.decode("detail", as: String.self))
            #expect(detail["route"] as? String == "POST /api/logs")
            #expect(detail["origin"] as? String == "https://evil.example")
            #expect(!t.log.text.contains(canary), "the canary's secret is in no log line")
            #expect(t.log.text.contains("canary token used"))

            // The owner sees the trip in the audit log; the canary cannot be rolled.
            let audit = try json(try await client.send("/api/audit-events", headers: .apiKey(management)).body)
            let trips = (audit["data"] as? [[String: Any]] ?? []).filter { $0["action"] as? String == "token.canary_used" }
            #expect((trips.first?["detail"] as? [String: Any])?["route"] as? String == "POST /api/logs")
            let roll = try await client.send("/api/access-tokens/\(id)/roll", method: .post, headers: .apiKey(management), body: "{}")
            #expect(roll.status == .conflict)
        }
    }

    @Test func aRolledTokenUsedAfterItsGraceIsRefusedAsBeforeAndRecorded() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (account, management) = try await t.account()
        let source = try await t.source("web", account: account)
        try await t.application().test(.router) { client throws in
            func use(_ secret: String) async throws -> (HTTPResponse.Status, String) {
                let answer = try await client.send("/api/logs?source=\(source)", method: .post, headers: .apiKey(secret), body: #"{"m":1}"#)
                return (answer.status, answer.body)
            }
            let (id, secret) = try await TokenAbuseControlTests.create(client, management, [:])
            #expect(try await use(secret).0 == .ok)
            let rolled = try await client.send(
                "/api/access-tokens/\(id)/roll", method: .post, headers: .apiKey(management), body: #"{"grace_seconds": 600}"#)
            #expect(rolled.status == .created)
            #expect(try await use(secret).0 == .ok, "still within its grace period")
            #expect(try await Self.events(t, "token.reused_after_roll", token: id).isEmpty)
            // The grace period ends (an operator's SQL; the notification drops the cached copy).
            try await t.pool.query("UPDATE access_tokens SET expires_at = now() - interval '1 second' WHERE id = \(UUID(uuidString: id)!)")
            _ = try await eventually(timeout: .seconds(5)) { try await use(secret).0 == .unauthorized }
            let after = try await use(secret)
            #expect(after.0 == .unauthorized && after.1.contains("access token has expired"), "answered as before: \(after.1)")
            let recorded = try await eventually(timeout: .seconds(10), every: .milliseconds(50)) {
                try await !Self.events(t, "token.reused_after_roll", token: id).isEmpty
            }
            #expect(recorded != nil)

            // Grace 0 revokes at once; its use says revoked, and is recorded too.
            let (other, otherSecret) = try await TokenAbuseControlTests.create(client, management, [:])
            _ = try await client.send("/api/access-tokens/\(other)/roll", method: .post, headers: .apiKey(management), body: "{}")
            let revoked = try await use(otherSecret)
            #expect(revoked.0 == .unauthorized && revoked.1.contains("revoked"))
            #expect(try await eventually(timeout: .seconds(10), every: .milliseconds(50)) {
                try await !Self.events(t, "token.reused_after_roll", token: other).isEmpty
            } != nil)

            // An ordinary revoked token is not a trip.
            let (plain, plainSecret) = try await TokenAbuseControlTests.create(client, management, [:])
            _ = try await client.send("/api/access-tokens/\(plain)", method: .delete, headers: .apiKey(management))
            #expect(try await use(plainSecret).0 == .unauthorized)
            try await Task.sleep(for: .milliseconds(600))
            #expect(try await Self.events(t, "token.reused_after_roll", token: plain).isEmpty)
            #expect(!t.log.text.contains(secret) && !t.log.text.contains(otherSecret))
        }
    }
}
