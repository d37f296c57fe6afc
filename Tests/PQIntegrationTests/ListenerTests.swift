import Foundation
import PQ
import PQServices
import Testing

@testable import KeyflareTestSupport

@Suite struct ListenerTests {
    /// Reads events until one matches, failing after a timeout.
    func next(
        _ iterator: inout AsyncStream<ListenerEvent>.Iterator, seconds: Double = 10,
        where match: (ListenerEvent) -> Bool
    ) async throws -> ListenerEvent? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            guard let event = await iterator.next() else { return nil }
            if match(event) { return event }
        }
        return nil
    }

    @Test func deliversChannelAndPayloadOnAQuotedChannel() async throws {
        let db = try await TestDatabase.empty()
        let pool = db.pool()
        defer { Task { await pool.close() } }
        // A channel name that needs quoting: upper case, a space, a quote and non-ASCII.
        let channel = "Keyflare \"Tokens\" ü"
        let listener = Listener(conninfo: db.url, channels: [channel, "other"], logger: TestDatabase.quietLogger)
        listener.start()
        defer { listener.stop() }
        var events = listener.events.makeAsyncIterator()
        #expect(try await next(&events) { $0 == .connected } != nil)
        try await pool.query("SELECT pg_notify(\(channel), \("hash:abc123"))")
        let event = try await next(&events) { if case .notification = $0 { true } else { false } }
        guard case .notification(let n) = event else {
            Issue.record("no notification")
            return
        }
        #expect(n.channel == channel)
        #expect(n.payload == "hash:abc123")
    }

    @Test func reconnectsAndListensAgainAfterTerminateBackend() async throws {
        let db = try await TestDatabase.empty()
        let pool = db.pool()
        defer { Task { await pool.close() } }
        let listener = Listener(conninfo: db.url, channels: ["keyflare_tokens"], logger: TestDatabase.quietLogger)
        listener.start()
        defer { listener.stop() }
        var events = listener.events.makeAsyncIterator()
        #expect(try await next(&events) { $0 == .connected } != nil)
        await pool.close()
        try await db.terminateBackends()
        #expect(try await next(&events) { $0 == .connected } != nil, "the listener should reconnect")
        let pool2 = db.pool()
        defer { Task { await pool2.close() } }
        try await pool2.query("NOTIFY keyflare_tokens, 'after-restart'")
        let event = try await next(&events) { if case .notification = $0 { true } else { false } }
        guard case .notification(let n) = event else {
            Issue.record("no notification after reconnecting")
            return
        }
        #expect(n.channel == "keyflare_tokens")
        #expect(n.payload == "after-restart")
    }

    @Test func stopFinishesTheSequence() async throws {
        let db = try await TestDatabase.empty()
        let listener = Listener(conninfo: db.url, channels: ["c"], logger: TestDatabase.quietLogger)
        listener.start()
        var events = listener.events.makeAsyncIterator()
        #expect(await events.next() == .connected)
        listener.stop()
        #expect(await events.next() == nil)
    }

    /// As a Service, `run()` owns the listener's thread: cancelling the task that runs it returns
    /// only after the thread has closed its connection, so nothing outlives the service.
    @Test func cancellingRunEndsTheThreadAndItsConnectionBeforeReturning() async throws {
        let db = try await TestDatabase.empty()
        let name = "listener-run-\(UUID().uuidString.prefix(8))"
        let listener = Listener(
            configuration: .init(conninfo: db.url, channels: ["c"], applicationName: name), logger: TestDatabase.quietLogger)
        let running = Task { await listener.run() }
        var events = listener.events.makeAsyncIterator()
        #expect(await events.next() == .connected)
        let connections = {
            try await TestDatabase.admin { admin in
                try admin.execute("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = \(name)")
                    .first!.decode("n", as: Int.self)
            }
        }
        #expect(try await connections() == 1)
        running.cancel()
        await running.value
        #expect(await events.next() == nil, "the events end with the thread")
        // The client closed before run() returned; the server ends its backend a moment later.
        var left = try await connections()
        for _ in 0..<40 where left > 0 {
            try await Task.sleep(for: .milliseconds(50))
            left = try await connections()
        }
        #expect(left == 0, "the connection outlived run()")
    }
}
