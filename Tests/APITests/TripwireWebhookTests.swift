import Crypto
import Foundation
import HTTPTypes
import HummingbirdTesting
import KeyflareCore
import KeyflareServer
import Testing

@testable import KeyflareTestSupport

/// The lifecycle's tripwires reach the account's webhooks: a canary's use, a rolled token used
/// after its grace period, and a leak report each fire their signed event, once.
@Suite struct TripwireWebhookTests {
    @Test func canaryReuseAndLeakEventsAreDelivered() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (account, management) = try await t.account()
        let source = try await t.source("web", account: account)
        let receiver = WebhookReceiver { _, _ in .status(204) }
        let base = try await receiver.start()
        defer { receiver.stop() }
        let key = P256.Signing.PrivateKey()
        let keys = try LeakReportTests.keysDocument(key)
        let app = try t.instance(configure: { configuration in
            WebhookDeliveryTests.fast(&configuration)
            configuration.leakReportKeys = keys
        })
        try await app.application.test(.router) { client throws in
            #expect(await eventually(timeout: .seconds(30)) { app.readiness.isReady } != nil)
            let hook = try await WebhookDeliveryTests.webhook(
                client, management, url: base + "/hook", events: ["token.canary_used", "token.reused_after_roll", "token.leaked"])

            let canary = try json(try await client.send(
                "/api/access-tokens", method: .post, headers: .apiKey(management), body: #"{"canary": true}"#).body)
            #expect(try await client.send("/api/account", headers: .bearer(try #require(canary["token"] as? String))).status == .unauthorized)

            let (id, secret) = try await TokenAbuseControlTests.create(client, management, [:])
            _ = try await client.send("/api/access-tokens/\(id)/roll", method: .post, headers: .apiKey(management), body: "{}")
            #expect(try await client.send("/api/logs?source=\(source)", method: .post, headers: .apiKey(secret), body: "{}").status == .unauthorized)

            let (_, leaked) = try await TokenAbuseControlTests.create(client, management, [:])
            let report = try LeakReportTests.report([leaked])
            let answer = try await client.send(
                "/api/token-leaks", method: .post, headers: try LeakReportTests.signed(report, with: key), body: report)
            #expect(answer.status == .ok)

            let all = await eventually(timeout: .seconds(20), every: .milliseconds(50)) { receiver.received.count >= 3 }
            #expect(all != nil, "got \(receiver.received.count) deliveries")
            try await Task.sleep(for: .milliseconds(500))
            let types = try receiver.received.map { try $0.json()["type"] as? String ?? "" }.sorted()
            #expect(types == ["token.canary_used", "token.leaked", "token.reused_after_roll"])
            for delivery in receiver.received {
                #expect(delivery.verifies(with: hook.secret))
                let body = String(decoding: delivery.body, as: UTF8.self)
                #expect(!body.contains(secret) && !body.contains(leaked), "never a token")
            }
        }
    }
}
