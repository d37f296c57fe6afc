import Foundation
import KeyflareCore
import KeyflareStore
import PQ
import Testing

@testable import KeyflareTestSupport

/// Hourly usage, client and origin counts: what the usage flush writes and the console reads.
@Suite struct UsageStoreTests {
    @Test func aFlushWritesHoursDaysAndClientsThatAddUp() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (accountID, _) = try await t.account()
        let token = try await t.token([.ingest], account: accountID)
        let store = UsageStore(pool: t.pool)
        let now = Date()
        let hourAgo = now.addingTimeInterval(-3_600)
        for _ in 0..<2 {
            let counter = UsageCounter()
            for _ in 0..<3 { counter.record(token.id, client: "203.0.113.7", origin: "https://app.example.com", at: now) }
            counter.record(token.id, client: "2001:db8::1", at: now)
            counter.recordRateLimited(token.id, at: now)
            counter.record(token.id, client: "198.51.100.2", origin: "https://other.example", at: hourAgo)
            try await store.flush(counter.drain())
        }
        let hours = try await store.hourly(tokenID: token.id, hours: 48)
        #expect(hours.count == 48)
        #expect(hours.last?.requests == 8 && hours.last?.rateLimited == 2)
        #expect(hours[46].requests == 2 && hours[46].rateLimited == 0)
        #expect(hours.dropLast(2).allSatisfy { $0.requests == 0 })
        #expect(hours.last?.label.hasSuffix(":00Z") == true)
        let today = try await store.daily(tokenID: token.id, days: 30)
        #expect(today.count == 30)
        #expect(today.reduce(0) { $0 + $1.requests } == 10)
        #expect(today.reduce(0) { $0 + $1.rateLimited } == 2)
        let addresses = try await store.top(tokenID: token.id, kind: "address", limit: 10)
        #expect(addresses.map(\.value) == ["203.0.113.7", "198.51.100.2", "2001:db8::1"], "busiest first, ties by value")
        #expect(addresses.map(\.requests) == [6, 2, 2], "refused requests count no client")
        let origins = try await store.top(tokenID: token.id, kind: "origin", limit: 10)
        #expect(origins.map(\.value) == ["https://app.example.com", "https://other.example"])
        #expect(origins.map(\.requests) == [6, 2])
        #expect(try await store.top(tokenID: token.id, kind: "origin", limit: 1).count == 1)

        // Several tokens at once, zeros filled in, for the tokens page.
        let idle = try await t.token([.query], account: accountID)
        let both = try await store.daily(tokenIDs: [token.id, idle.id], days: 7)
        #expect(both[token.id]?.count == 7 && both[idle.id]?.count == 7)
        #expect(both[idle.id]?.allSatisfy { $0.requests == 0 && $0.rateLimited == 0 } == true)
        #expect(both[token.id]?.reduce(0) { $0 + $1.requests } == 10)
    }

    @Test func addressesPerHourAreBoundedAcrossFlushesAndOthersAreCountedTogether() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (accountID, _) = try await t.account()
        let token = try await t.token([.ingest], account: accountID)
        let store = UsageStore(pool: t.pool)
        let now = Date()
        // Ten flushes of 16 new addresses each: far more than the table keeps per hour.
        var sent = 0
        for flush in 0..<10 {
            let counter = UsageCounter()
            for i in 0..<UsageCounter.maxDistinct {
                counter.record(token.id, client: ClientKey("10.\(flush).0.\(i)"), at: now)
                sent += 1
            }
            try await store.flush(counter.drain())
        }
        let rows = try await t.pool.query(
            "SELECT value, requests FROM token_clients_hourly WHERE token_id = \(token.id) AND kind = 'address'"
        ).rows
        let kept = try rows.filter { try $0.decode("value", as: String.self) != "" }
        #expect(kept.count == UsageStore.maxClientsPerHour)
        let total = try rows.reduce(0) { $0 + (try $1.decode("requests", as: Int.self)) }
        #expect(total == sent, "nothing is lost: the rest is counted under ''")
        let top = try await store.top(tokenID: token.id, kind: "address", limit: 1)
        #expect(top.first?.value == "" && top.first?.requests == sent - UsageStore.maxClientsPerHour)
    }

    @Test func pruneDropsOldHoursAndKeepsRecentOnes() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (accountID, _) = try await t.account()
        let token = try await t.token([.ingest], account: accountID)
        let store = UsageStore(pool: t.pool)
        let counter = UsageCounter()
        let now = Date()
        for hoursAgo in [0, 47, 49, 71, 73] {
            counter.record(token.id, client: ClientKey("192.0.2.\(hoursAgo)"), at: now.addingTimeInterval(-3_600 * Double(hoursAgo)))
        }
        try await store.flush(counter.drain())
        try await store.prune()
        let hours = try await t.pool.query(
            "SELECT count(*) AS n FROM token_usage_hourly WHERE token_id = \(token.id)").first!.decode("n", as: Int.self)
        let clients = try await t.pool.query(
            "SELECT count(*) AS n FROM token_clients_hourly WHERE token_id = \(token.id)").first!.decode("n", as: Int.self)
        #expect(hours == 4, "72 hours of hourly counts are kept")
        #expect(clients == 2, "48 hours of client counts are kept")
        let daily = try await t.pool.query(
            "SELECT sum(requests) AS n FROM token_usage_daily WHERE token_id = \(token.id)").first!.decode("n", as: Int.self)
        #expect(daily == 5, "daily counts are not pruned")
    }

    /// Hours are UTC hours whatever the server's TimeZone: one half an hour off UTC once made every
    /// flush fail on the hour's CHECK constraint.
    @Test func aServerInAHalfHourTimeZoneStillCountsHours() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (accountID, _) = try await t.account()
        let token = try await t.token([.ingest], account: accountID)
        let name = try await t.pool.query("SELECT current_database() AS d").first!.decode("d", as: String.self)
        try await t.pool.query(Query(unsafeSQL: "ALTER DATABASE \"\(name)\" SET TimeZone = 'Asia/Kolkata'"))
        let pool = t.db.pool(max: 2)
        let zone = try await pool.query("SHOW TimeZone").first!.decode("TimeZone", as: String.self)
        #expect(zone == "Asia/Kolkata")
        let store = UsageStore(pool: pool)
        let counter = UsageCounter()
        counter.record(token.id, client: "192.0.2.1", origin: "https://a.example")
        try await store.flush(counter.drain())
        let hours = try await store.hourly(tokenID: token.id, hours: 48)
        #expect(hours.count == 48 && hours.last?.requests == 1)
        #expect(hours.last?.label.hasSuffix(":00Z") == true)
        #expect(try await store.top(tokenID: token.id, kind: "address", limit: 5).first?.requests == 1)
        await pool.close()
    }
}
