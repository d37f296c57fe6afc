import Foundation
import Testing

@testable import KeyflareCore

/// The in-memory usage counter: per token and hour, with bounded client and origin counts.
@Suite struct UsageCounterTests {
    let token = UUID()
    // 2026-12-01T10:59:59Z and one second later, in the next hour.
    let late = Date(timeIntervalSince1970: 1_796_122_799)
    var next: Date { late.addingTimeInterval(1) }

    @Test func requestsAreCountedPerHourAndRateLimitedApart() {
        let counter = UsageCounter()
        counter.record(token, at: late)
        counter.record(token, at: late)
        counter.recordRateLimited(token, at: late)
        counter.record(token, at: next)
        let tallies = counter.drain().sorted { $0.hour < $1.hour }
        #expect(tallies.count == 2)
        #expect(tallies[0].requests == 2 && tallies[0].rateLimited == 1)
        #expect(tallies[1].requests == 1 && tallies[1].rateLimited == 0)
        #expect(tallies[0].hour.description == "2026-12-01T10:00:00.000Z")
        #expect(tallies[1].hour.hoursSinceEpoch == tallies[0].hour.hoursSinceEpoch + 1)
        #expect(tallies[0].day == tallies[1].day)
        #expect(tallies[0].day.description == "2026-12-01")
        #expect(counter.drain().isEmpty)
    }

    @Test func rotatingAddressesCannotGrowATally() {
        let counter = UsageCounter()
        for i in 0..<10_000 { counter.record(token, client: ClientKey("2001:db8::\(String(i, radix: 16))"), at: late) }
        counter.record(token, client: "2001:db8::1", at: late)  // already kept: counted as itself
        let tally = try! #require(counter.drain().first)
        #expect(tally.clients.count == UsageCounter.maxDistinct + 1)
        #expect(tally.clients["2001:db8::1"] == 2)
        #expect(tally.clients[ClientKey.others] == 10_000 - UsageCounter.maxDistinct)
        #expect(tally.clients.values.reduce(0, +) == 10_001)
        #expect(tally.requests == 10_001)
    }

    @Test func originsThatAreNotShortPrintableASCIIAreCountedAsOthers() {
        let counter = UsageCounter()
        let hostile = [
            "https://a.example\u{0}", "https://é.example", "https://a.example\r\nX: y", "https://" + String(repeating: "a", count: 193), "",
            "https://a .example",
        ]
        for origin in hostile { counter.record(token, origin: origin, at: late) }
        counter.record(token, origin: "https://app.example.com", at: late)
        let longest = "https://" + String(repeating: "b", count: 192)
        counter.record(token, origin: longest, at: late)
        let tally = try! #require(counter.drain().first)
        #expect(tally.origins[UsageCounter.others] == hostile.count)
        #expect(tally.origins["https://app.example.com"] == 1)
        #expect(longest.utf8.count == UsageCounter.maxOriginBytes && tally.origins[longest] == 1)
        #expect(tally.origins.count == 3)
    }

    @Test func restoreMergesCountsWithinTheBound() {
        let counter = UsageCounter()
        for i in 0..<UsageCounter.maxDistinct { counter.record(token, client: ClientKey("10.0.0.\(i)"), origin: "https://a.example", at: late) }
        let drained = counter.drain()
        counter.record(token, client: "10.0.1.1", origin: "https://a.example", at: late)
        counter.recordRateLimited(token, at: late)
        counter.restore(drained)
        let tally = try! #require(counter.drain().first)
        #expect(tally.requests == UsageCounter.maxDistinct + 1)
        #expect(tally.rateLimited == 1)
        #expect(tally.origins == ["https://a.example": UsageCounter.maxDistinct + 1])
        #expect(tally.clients.count <= UsageCounter.maxDistinct + 1)
        #expect(tally.clients.values.reduce(0, +) == UsageCounter.maxDistinct + 1, "the refused request counts no client")
    }
}

extension UsageCounterTests {
    @Test func onlyWellFormedOriginsAreKept() {
        for origin in ["https://app.example.com", "http://localhost:3000", "https://[2001:db8::1]:8443", "chrome-extension://abcdef"] {
            #expect(UsageCounter.kept(origin) == origin, "\(origin)")
        }
        for origin in [
            "https://keyflare-billing.example/call-555-0100", "null", "https://a.example?x=1", "https://a b.example", "://x",
            "HTTPS://a.example", "1http://a.example", "https://", "https://user@a.example", "https://a.example#f",
        ] {
            #expect(UsageCounter.kept(origin) == UsageCounter.others, "\(origin)")
        }
    }
}
