import Foundation
import HTTPTypes
import HummingbirdTesting
import KeyflareCore
import KeyflareServer
import Testing

@testable import KeyflareTestSupport

/// Many deliveries to ten webhooks, claimed by three instances at once: each event reaches each
/// receiver exactly once, and one receiver never has more requests in flight than there are instances.
@Suite struct WebhookLoadTests {
    /// Events per webhook (ten webhooks).
    static let events = Int(ProcessInfo.processInfo.environment["KEYFLARE_WEBHOOK_LOAD_EVENTS"] ?? "") ?? 30

    @Test func threeInstancesDeliverEveryEventOnce() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (account, management) = try await t.account()
        let receiver = WebhookReceiver { _, _ in .slow(204, .milliseconds(2)) }
        let apps = try (0..<3).map { _ in try t.instance(configure: WebhookDeliveryTests.fast) }
        let base = try await receiver.start()
        defer { receiver.stop() }
        try await apps[0].application.test(.router) { one throws in
            try await apps[1].application.test(.router) { _ throws in
                try await apps[2].application.test(.router) { _ throws in
                    try await Self.run(t, one, apps, management, account, receiver, base)
                }
            }
        }
    }

    static func run(
        _ t: TestApp, _ one: some TestClientProtocol, _ apps: [KeyflareApp], _ management: String, _ account: UUID,
        _ receiver: WebhookReceiver, _ base: String
    ) async throws {
        for app in apps { #expect(await eventually(timeout: .seconds(30)) { app.readiness.isReady } != nil) }
        for n in 0..<Webhook.maxPerAccount {
            _ = try await WebhookDeliveryTests.webhook(one, management, url: base + "/load/\(n)")
        }
        let total = events * Webhook.maxPerAccount
        let started = ContinuousClock.now
        _ = try await t.pool.query(
            """
            WITH e AS (
                INSERT INTO webhook_events (account_id, type, payload)
                SELECT \(account), 'token.revoked', jsonb_build_object('n', n) FROM generate_series(1, \(events)) n
                RETURNING id
            )
            INSERT INTO webhook_deliveries (webhook_id, event_id) SELECT w.id, e.id FROM e, webhooks w WHERE w.account_id = \(account)
            """)
        let done = await eventually(timeout: .seconds(120), every: .milliseconds(20)) {
            (try? await t.count("SELECT count(*) AS n FROM webhook_deliveries WHERE status = 'delivered'")) == total
        }
        let elapsed = ContinuousClock.now - started
        #expect(done != nil)
        try await Task.sleep(for: .milliseconds(500))
        let received = receiver.received
        #expect(received.count == total, "every event once to every receiver")
        #expect(Set(received.map { "\($0.path) \($0.eventID ?? "")" }).count == total)
        #expect(try await t.count("SELECT count(*) AS n FROM webhook_deliveries WHERE attempts <> 1") == 0)
        #expect(receiver.mostInFlight <= apps.count, "one receiver had \(receiver.mostInFlight) requests in flight")
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("webhook load: most in flight to one receiver \(receiver.mostInFlight); \(total) deliveries to 10 receivers by 3 instances in \(elapsed) (\(Int(Double(total) / seconds))/s)")
    }
}
