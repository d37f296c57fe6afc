import Foundation
import PQ
import Testing

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
}
