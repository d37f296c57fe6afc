import Foundation
import HTTPTypes
import HummingbirdTesting
import KeyflareCore
import KeyflareServer
import KeyflareStore
import Testing

@testable import KeyflareTestSupport

/// `/api/webhooks`: what is refused (422, 409, 404 across accounts), and that the signing secret is
/// shown once and then nowhere: not in listings, the reporting views or the log.
@Suite struct WebhookAPITests {
    static func create(_ client: some TestClientProtocol, _ management: String, url: String, events: [String] = ["token.revoked"])
        async throws -> (status: HTTPResponse.Status, body: String)
    {
        let body = String(decoding: try JSONSerialization.data(withJSONObject: ["url": url, "events": events]), as: UTF8.self)
        let answer = try await client.send("/api/webhooks", method: .post, headers: .apiKey(management), body: body)
        return (answer.status, answer.body)
    }

    @Test func badURLsAndUnknownEventsAre422() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (_, management) = try await t.account()
        try await t.application().test(.router) { client throws in
            let refused = [
                "ftp://example.com/hook", "not a url", "javascript:alert(1)", "http://user:pw@example.com/hook",
                "https://token@example.com/", "http://127.0.0.1:8080/hook", "http://127.1.2.3/", "http://10.1.2.3/",
                "http://172.20.0.1/", "http://192.168.1.1/", "http://100.64.0.1/", "http://169.254.169.254/latest/meta-data",
                "http://0.0.0.0/", "http://[::1]/", "http://[fe80::1]/", "http://[fd00::1]/", "http://[::ffff:127.0.0.1]/",
                "http://localhost/hook", "http://2130706433/", "https://example.com/" + String(repeating: "a", count: 2100),
                "http:///nohost",
            ]
            for url in refused {
                let answer = try await Self.create(client, management, url: url)
                #expect(answer.status == .unprocessableContent, "\(url.prefix(60)): \(answer.body)")
            }
            let unknown = try await Self.create(client, management, url: "https://192.0.2.10/hook", events: ["token.revoked", "token.exploded"])
            #expect(unknown.status == .unprocessableContent)
            #expect(unknown.body.contains("token.exploded"), "the message names the unknown event")
            #expect(try await Self.create(client, management, url: "https://192.0.2.10/hook", events: []).status == .unprocessableContent)
            let extra = try await client.send(
                "/api/webhooks", method: .post, headers: .apiKey(management),
                body: #"{"url":"https://192.0.2.10/","events":["token.revoked"],"secret":"mine"}"#)
            #expect(extra.status == .unprocessableContent)
            // A public address literal is accepted (delivery happens later, and elsewhere).
            #expect(try await Self.create(client, management, url: "https://192.0.2.10/hook").status == .created)
        }
    }

    @Test func theSecretIsShownOnceAndAnotherAccountsWebhookIsMissing() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (account, management) = try await t.account()
        let (_, otherManagement) = try await t.account("Other")
        let ingestOnly = try await t.token([.ingest], account: account)
        let instance = try t.instance(configure: { $0.webhooksAllowPrivate = true })
        try await instance.application.test(.router) { client throws in
            // Private destinations pass with the override.
            let created = try await Self.create(client, management, url: "http://127.0.0.1:9/hook", events: ["token.revoked", "token.expiring"])
            #expect(created.status == .created, "\(created.body)")
            let object = try json(created.body)
            let id = try #require(object["id"] as? String)
            let secret = try #require(object["secret"] as? String)
            #expect(secret.hasPrefix("whsec_") && secret.count == 70)
            #expect(object["events"] as? [String] == ["token.revoked", "token.expiring"])

            let list = try await client.send("/api/webhooks", headers: .apiKey(management))
            #expect(list.status == .ok)
            #expect(try jsonArray(list.body).map { $0["id"] as? String } == [id])
            let one = try await client.send("/api/webhooks/\(id)", headers: .apiKey(management))
            #expect(one.status == .ok)
            for body in [list.body, one.body] {
                #expect(!body.contains(secret) && !body.contains("secret"))
            }
            let log = try await client.send("/api/webhooks/\(id)/deliveries", headers: .apiKey(management))
            #expect(log.status == .ok && log.body == "[]")

            // Another account's webhook answers exactly as a missing one, on every route.
            let missing = try await client.send("/api/webhooks/\(UUID())", headers: .apiKey(otherManagement))
            #expect(missing.status == .notFound)
            for (path, method) in [("/api/webhooks/\(id)", HTTPRequest.Method.get), ("/api/webhooks/\(id)", .delete), ("/api/webhooks/\(id)/deliveries", .get)] {
                let answer = try await client.send(path, method: method, headers: .apiKey(otherManagement))
                #expect(answer.status == .notFound && answer.body == missing.body, "\(method) \(path)")
            }
            #expect(try await client.send("/api/webhooks", headers: .apiKey(otherManagement)).body == "[]")
            // Management is required; an ingest token of the same account is refused.
            #expect(try await client.send("/api/webhooks", headers: .apiKey(ingestOnly.secret)).status == .forbidden)
            #expect(try await client.send("/api/webhooks/\(id)", headers: .apiKey(ingestOnly.secret)).status == .forbidden)

            // At most ten per account.
            for _ in 1..<Webhook.maxPerAccount {
                #expect(try await Self.create(client, management, url: "http://127.0.0.1:9/more").status == .created)
            }
            #expect(try await Self.create(client, management, url: "http://127.0.0.1:9/more").status == .conflict)

            // Nowhere else: the reporting views and the log never hold it.
            let reported = try await t.pool.query(
                """
                SELECT coalesce(string_agg(row_to_json(w)::text, ''), '') AS a,
                       (SELECT coalesce(string_agg(row_to_json(d)::text, ''), '') FROM reporting.webhook_deliveries d) AS b
                FROM reporting.webhooks w
                """
            ).first!
            #expect(try reported.decode("a", as: String.self).contains(id))
            #expect(try !reported.decode("a", as: String.self).contains(secret))
            #expect(try !reported.decode("b", as: String.self).contains(secret))
            let columns = try await t.pool.query(
                "SELECT count(*) AS n FROM information_schema.columns WHERE table_schema = 'reporting' AND column_name LIKE '%secret%'")
            #expect(try columns.first!.decode("n", as: Int.self) == 0)
            #expect(!t.log.text.contains(secret))

            #expect(try await client.send("/api/webhooks/\(id)", method: .delete, headers: .apiKey(management)).status == .noContent)
            #expect(try await client.send("/api/webhooks/\(id)", headers: .apiKey(management)).status == .notFound)
        }
    }

    /// The audit trigger: a revoke, or a roll without grace, enqueues one event with one delivery
    /// per webhook subscribed to token.revoked, in the revoke's transaction; a roll with grace, a
    /// repeated revoke, or a webhook of other events enqueues nothing.
    @Test func revokesAndRollsWithoutGraceEnqueueForSubscribedWebhooksOnly() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (account, management) = try await t.account()
        let first = try await t.token([.ingest], account: account)
        let second = try await t.token([.ingest], account: account)
        // No webhook yet: a revoke leaves nothing behind.
        _ = try await AccessTokenStore(pool: t.pool).revoke(id: second.id, accountID: account, actor: .operator)
        #expect(try await t.count("SELECT count(*) AS n FROM webhook_events") == 0)
        let instance = try t.instance(configure: { $0.webhooksAllowPrivate = true; $0.webhookPollMilliseconds = 60_000 })
        try await instance.application.test(.router) { client throws in
            let revoked = try json(try await Self.create(client, management, url: "http://127.0.0.1:9/a").body)
            _ = try await Self.create(client, management, url: "http://127.0.0.1:9/b", events: ["token.expiring"])
            let subscribed = try #require(revoked["id"] as? String)

            #expect(try await client.send("/api/access-tokens/\(first.id)", method: .delete, headers: .apiKey(management)).status == .noContent)
            #expect(try await client.send("/api/access-tokens/\(first.id)", method: .delete, headers: .apiKey(management)).status == .noContent)
            #expect(try await t.count("SELECT count(*) AS n FROM webhook_events WHERE type = 'token.revoked' AND token_id = \(first.id)") == 1)

            let third = try await t.token([.ingest], account: account)
            let graced = try await client.send(
                "/api/access-tokens/\(third.id)/roll", method: .post, headers: .apiKey(management), body: #"{"grace_seconds":60}"#)
            #expect(graced.status == .created)
            #expect(try await t.count("SELECT count(*) AS n FROM webhook_events WHERE token_id = \(third.id)") == 0)
            let next = try #require(try json(graced.body)["id"] as? String)
            let rolled = try await client.send("/api/access-tokens/\(next)/roll", method: .post, headers: .apiKey(management), body: "{}")
            #expect(rolled.status == .created)
            let event = try #require(try await t.pool.query(
                "SELECT type, payload->>'rolled' AS rolled FROM webhook_events WHERE token_id = \(UUID(uuidString: next)!)").first)
            #expect(try event.decode("type", as: String.self) == "token.revoked")
            #expect(try event.decode("rolled", as: String.self) == "true")

            let deliveries = try await t.pool.query("SELECT webhook_id FROM webhook_deliveries").rows.map { try $0.decode("webhook_id", as: UUID.self) }
            #expect(deliveries.count == 2)
            #expect(Set(deliveries) == [UUID(uuidString: subscribed)!], "only the webhook subscribed to token.revoked")
        }
    }

    @Test func makingAndDeletingAWebhookIsAuditedWithoutItsURLOrSecret() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (_, management) = try await t.account()
        try await t.instance(configure: { $0.webhooksAllowPrivate = true }).application.test(.router) { client throws in
            let created = try await Self.create(client, management, url: "http://127.0.0.1:9/hook?key=receivers-own-key", events: ["token.leaked"])
            #expect(created.status == .created)
            let object = try json(created.body)
            let id = try #require(object["id"] as? String), secret = try #require(object["secret"] as? String)
            #expect(try await client.send("/api/webhooks/\(id)", method: .delete, headers: .apiKey(management)).status == .noContent)
            let rows = try await t.pool.query(
                "SELECT action, detail::text AS detail FROM audit_events WHERE target_id = \(UUID(uuidString: id)!) ORDER BY created_at").rows
            #expect(try rows.map { try $0.decode("action", as: String.self) } == ["webhook.created", "webhook.deleted"])
            let detail = try rows.first?.decodeIfPresent("detail", as: String.self) ?? ""
            #expect(detail.contains("token.leaked") && !detail.contains("receivers-own-key") && !detail.contains(secret))
        }
    }
}
