import Foundation
import HTTPTypes
import HummingbirdTesting
import KeyflareCore
import KeyflareServer
import KeyflareStore
import Testing

@testable import KeyflareTestSupport

/// Webhook deliveries against real receivers on 127.0.0.1: exactly once across instances, signed,
/// retried with backoff, and bounded in time and bytes whatever the receiver does.
@Suite struct WebhookDeliveryTests {
    /// Settings for fast tests: private receivers allowed, short backoff and polling.
    static func fast(_ configuration: inout KeyflareConfiguration) {
        configuration.webhooksAllowPrivate = true
        configuration.webhookRetryBaseMilliseconds = 100
        configuration.webhookPollMilliseconds = 20
        configuration.webhookScheduleSeconds = 0.1
    }

    static func webhook(_ client: some TestClientProtocol, _ management: String, url: String, events: [String] = ["token.revoked"])
        async throws -> (id: String, secret: String)
    {
        let created = try await WebhookAPITests.create(client, management, url: url, events: events)
        #expect(created.status == .created, "\(created.body)")
        let object = try json(created.body)
        return (try #require(object["id"] as? String), try #require(object["secret"] as? String))
    }

    static func log(_ client: some TestClientProtocol, _ management: String, _ id: String) async throws -> [[String: Any]] {
        try jsonArray(try await client.send("/api/webhooks/\(id)/deliveries", headers: .apiKey(management)).body)
    }

    /// Resident memory of this process, in bytes.
    static func residentBytes() -> Int {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
            let pages = statm.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    @Test func exactlyOnceAcrossThreeInstancesWithAReceiverThatFailsTwice() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (account, management) = try await t.account()
        let token = try await t.token([.ingest], account: account)
        let receiver = WebhookReceiver { n, _ in n <= 2 ? .status(500) : .status(204) }
        let a = try t.instance(configure: Self.fast)
        let b = try t.instance(configure: Self.fast)
        let c = try t.instance(configure: Self.fast)
        let base = try await receiver.start()
        defer { receiver.stop() }
        do {
            try await a.application.test(.router) { one throws in
                try await b.application.test(.router) { _ throws in
                    try await c.application.test(.router) { _ throws in
                        try await Self.exactlyOnce(t, one, [a, b, c], management, account, token, receiver, base)
                    }
                }
            }
        }
    }


    static func exactlyOnce(
        _ t: TestApp, _ one: some TestClientProtocol, _ apps: [KeyflareApp], _ management: String, _ account: UUID,
        _ token: (id: UUID, secret: String), _ receiver: WebhookReceiver, _ base: String
    ) async throws {
        for app in apps { #expect(await eventually(timeout: .seconds(30)) { app.readiness.isReady } != nil) }
        let hook = try await Self.webhook(one, management, url: base + "/hook")
        let revoked = try await one.send("/api/access-tokens/\(token.id)", method: .delete, headers: .apiKey(management))
        #expect(revoked.status == .noContent)

        let done = await eventually(timeout: .seconds(20), every: .milliseconds(20)) {
            (try? await Self.log(one, management, hook.id).first?["status"] as? String) == "delivered"
        }
        #expect(done != nil)
        // Three instances keep polling every 20 ms: nothing more arrives.
        try await Task.sleep(for: .seconds(1.5))
        let received = receiver.received
        #expect(received.count == 3, "two refusals, one acceptance, then nothing")
        let ids = Set(received.compactMap { $0.eventID })
        #expect(ids.count == 1, "every attempt carries the same event id")
        for delivery in received {
            #expect(delivery.verifies(with: hook.secret), "the signature verifies with the webhook's secret")
            #expect(!delivery.verifies(with: WebhookSignature.newSecret()))
            #expect(!String(decoding: delivery.body, as: UTF8.self).contains(hook.secret))
            #expect(abs((delivery.timestamp ?? 0) - Int(Date().timeIntervalSince1970)) < 60)
        }
        let body = try received[2].json()
        #expect(body["id"] as? String == ids.first)
        #expect(body["type"] as? String == "token.revoked")
        #expect(body["account_id"] as? String == account.uuidString.lowercased())
        #expect(body["created_at"] as? String != nil)
        let data = try #require(body["data"] as? [String: Any])
        #expect(data["token_id"] as? String == token.id.uuidString.lowercased())
        #expect(data["description"] as? String == "test")
        #expect(!String(decoding: received[2].body, as: UTF8.self).contains(token.secret), "never the token")

        let log = try await Self.log(one, management, hook.id)
        #expect(log.count == 1)
        #expect(log.first?["attempts"] as? Int == 3)
        #expect(log.first?["last_status"] as? Int == 204)
        #expect(log.first?["event_id"] as? String == ids.first)
        #expect(log.first?["type"] as? String == "token.revoked")
        #expect(log.first?["delivered_at"] as? String != nil)
        #expect(!t.log.text.contains(hook.secret), "the secret is in no log line")
    }

    @Test func aHangingAHugeAndAFailingReceiverDoNotHoldUpTheOthers() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (account, management) = try await t.account()
        let token = try await t.token([.ingest], account: account)
        let huge = 1 << 30
        let receiver = WebhookReceiver { _, path in
            switch path {
            case "/hang": .hang
            case "/huge": .huge(huge)
            case "/fail": .status(500)
            default: .status(200)
            }
        }
        let instance = try t.instance(configure: {
            Self.fast(&$0)
            $0.webhookTimeoutSeconds = 1
            $0.webhookRetryBaseMilliseconds = 200
            // Room for at least three attempts (0, 0.2, 0.6, 1.4 s, ...) on a loaded machine too.
            $0.webhookGiveUpSeconds = 6
        })
        let base = try await receiver.start()
        defer { receiver.stop() }
        do {
            try await instance.application.test(.router) { client throws in
                #expect(await eventually(timeout: .seconds(30)) { instance.readiness.isReady } != nil)
                var hooks: [String: String] = [:]
                for path in ["/hang", "/huge", "/fail", "/ok"] {
                    hooks[path] = try await Self.webhook(client, management, url: base + path).id
                }
                let before = Self.residentBytes()
                let started = ContinuousClock.now
                #expect(try await client.send("/api/access-tokens/\(token.id)", method: .delete, headers: .apiKey(management)).status == .noContent)

                // The healthy receiver is served at once, not after the hanging one times out.
                #expect(await eventually(timeout: .seconds(10), every: .milliseconds(5)) {
                    receiver.received.contains { $0.path == "/ok" }
                } != nil)
                // Judged against the hanging receiver's own attempts, not the clock (a loaded machine
                // slows everything alike): /ok arrives before /hang's first attempt has timed out
                // and been tried again.
                let okAt = try #require(receiver.received.first { $0.path == "/ok" }?.at)
                let hangRetry = receiver.received.filter { $0.path == "/hang" }.dropFirst().first?.at
                #expect(hangRetry.map { okAt < $0 } ?? true, "delivered while /hang still hangs (\(okAt - started) after the revoke)")

                // The huge answer is cut at the cap: delivered, and the process did not take it in.
                #expect(await eventually(timeout: .seconds(10), every: .milliseconds(20)) {
                    (try? await Self.log(client, management, hooks["/huge"]!).first?["status"] as? String) == "delivered"
                } != nil)
                // The connection is closed, not drained: the receiver gets out what the socket buffers
                // (up to 32 MiB here) and the moments before the close take, far from the whole gigabyte.
                #expect(receiver.hugeBytesWritten < 256 * 1024 * 1024, "the receiver wrote \(receiver.hugeBytesWritten) bytes")
                let growth = Self.residentBytes() - before
                #expect(growth < 64 * 1024 * 1024, "resident memory grew by \(growth) bytes for a \(huge)-byte answer")

                // Hanging and failing receivers are retried with backoff until the retry period ends.
                let finished = await eventually(timeout: .seconds(20), every: .milliseconds(50)) {
                    var statuses: [String] = []
                    for path in ["/hang", "/fail"] {
                        statuses.append((try? await Self.log(client, management, hooks[path]!).first?["status"] as? String) ?? "")
                    }
                    return statuses == ["failed", "failed"]
                }
                #expect(finished != nil)
                let hang = try #require(try await Self.log(client, management, hooks["/hang"]!).first)
                #expect(hang["last_error"] as? String == "timed out")
                #expect((hang["attempts"] as? Int ?? 0) >= 2)
                let fail = try #require(try await Self.log(client, management, hooks["/fail"]!).first)
                #expect(fail["last_status"] as? Int == 500)
                let failures = receiver.received.filter { $0.path == "/fail" }
                #expect(fail["attempts"] as? Int == failures.count, "every attempt is counted")
                #expect(failures.count >= 3)
                // Each wait at least doubles: 200 ms, 400 ms, 800 ms, ...
                for i in 1..<failures.count {
                    let gap = failures[i].at - failures[i - 1].at
                    #expect(gap >= .milliseconds(200 * (1 << (i - 1)) - 20), "gap \(i): \(gap)")
                }
                let settled = receiver.received.count
                try await Task.sleep(for: .seconds(1))
                #expect(receiver.received.count == settled, "nothing is sent after giving up")
                let ok = try #require(try await Self.log(client, management, hooks["/ok"]!).first)
                #expect(ok["attempts"] as? Int == 1 && ok["status"] as? String == "delivered")
            }
        }
    }

    @Test func theSchedulerEnqueuesEachClockEventOnceWithTwoInstances() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (account, management) = try await t.account()
        let expiring = try await t.token([.ingest], account: account, expiresAt: Date().addingTimeInterval(12 * 3600))
        let later = try await t.token([.ingest], account: account, expiresAt: Date().addingTimeInterval(3 * 86_400))
        let expired = try await t.token([.ingest], account: account, expiresAt: Date().addingTimeInterval(3600))
        let limited = try await t.token([.ingest], account: account)
        _ = try await t.pool.query("UPDATE access_tokens SET expires_at = now() - interval '1 minute' WHERE id = \(expired.id)")
        _ = try await t.pool.query(
            """
            INSERT INTO token_usage_hourly (token_id, hour, requests, rate_limited)
            VALUES (\(limited.id), date_trunc('hour', now(), 'UTC'), 10, 4)
            """)
        let receiver = WebhookReceiver { _, _ in .status(200) }
        let a = try t.instance(configure: Self.fast)
        let b = try t.instance(configure: Self.fast)
        let base = try await receiver.start()
        defer { receiver.stop() }
        do {
            try await a.application.test(.router) { one throws in
                try await b.application.test(.router) { _ throws in
                    for app in [a, b] { #expect(await eventually(timeout: .seconds(30)) { app.readiness.isReady } != nil) }
                    _ = try await Self.webhook(
                        one, management, url: base + "/clock", events: ["token.expiring", "token.expired", "token.rate_limited"])
                    #expect(await eventually(timeout: .seconds(10), every: .milliseconds(20)) { receiver.received.count >= 4 } != nil)
                    // Both schedulers pass every 100 ms: ten more passes each add nothing.
                    try await Task.sleep(for: .seconds(1))
                    let bodies = try receiver.received.map { try $0.json() }
                    let seen = bodies.map { body -> String in
                        let data = body["data"] as? [String: Any] ?? [:]
                        return "\(body["type"] as? String ?? "") \(data["token_id"] as? String ?? "") \(data["warning"] as? String ?? "")"
                    }.sorted()
                    let expected = [
                        "token.expiring \(expiring.id.uuidString.lowercased()) 1d",
                        "token.expiring \(later.id.uuidString.lowercased()) 7d",
                        "token.expired \(expired.id.uuidString.lowercased()) ",
                        "token.rate_limited \(limited.id.uuidString.lowercased()) ",
                    ].sorted()
                    #expect(seen == expected)
                    #expect(try await t.count("SELECT count(*) AS n FROM webhook_events") == 4)
                    #expect(try await t.count("SELECT count(*) AS n FROM webhook_deliveries WHERE status = 'delivered'") == 4)
                }
            }
        }
    }

    /// A URL that passed the check at creation and leads somewhere private by the time of sending
    /// (DNS rebinding, simulated by changing the stored URL) is refused at send time: the receiver
    /// hears nothing, and the log says why.
    @Test func theDestinationIsCheckedAgainAtSendTime() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (account, management) = try await t.account()
        let token = try await t.token([.ingest], account: account)
        let receiver = WebhookReceiver { _, _ in .status(200) }
        let instance = try t.instance(configure: {
            Self.fast(&$0)
            $0.webhooksAllowPrivate = false
        })
        let base = try await receiver.start()
        defer { receiver.stop() }
        try await instance.application.test(.router) { client throws in
            #expect(await eventually(timeout: .seconds(30)) { instance.readiness.isReady } != nil)
            let hook = try await Self.webhook(client, management, url: "http://192.0.2.1/hook")
            _ = try await t.pool.query("UPDATE webhooks SET url = \(base + "/rebound") WHERE id = \(UUID(uuidString: hook.id)!)")
            #expect(try await client.send("/api/access-tokens/\(token.id)", method: .delete, headers: .apiKey(management)).status == .noContent)
            let refused = await eventually(timeout: .seconds(10), every: .milliseconds(20)) {
                ((try? await Self.log(client, management, hook.id).first?["attempts"] as? Int) ?? 0) >= 2
            }
            #expect(refused != nil)
            let entry = try #require(try await Self.log(client, management, hook.id).first)
            #expect((entry["last_error"] as? String ?? "").contains("127.0.0.1"), "\(entry)")
            #expect(entry["status"] as? String == "pending")
            #expect(receiver.received.isEmpty)
        }
    }
}
