import Foundation
import KeyflareCore
import Testing

/// The trip queue is bounded before anything is spent: one record per kind, token and address per
/// quiet period, at most `capacity` waiting, the rest counted as dropped.
@Suite struct TokenTripQueueTests {
    static func trip(_ token: UUID, from ip: String, at date: Date, kind: TokenTripwire.Kind = .canary, account: UUID = UUID()) -> TokenTrip {
        TokenTrip(
            tripwire: TokenTripwire(kind: kind, tokenID: token, accountID: account, answer: TokenRejection.unknown),
            clientIP: ip, origin: nil, userAgent: nil, route: "GET /api/account", at: date)
    }

    @Test func aHammeringClientIsOneRecordPerQuietPeriod() {
        let queue = TokenTripQueue(quietSeconds: 60, capacity: 10)
        let token = UUID()
        let start = Date()
        for i in 0..<1_000 { queue.report(Self.trip(token, from: "198.51.100.1", at: start.addingTimeInterval(Double(i) * 0.01))) }
        queue.report(Self.trip(token, from: "198.51.100.1", at: start, kind: .reusedAfterRoll))
        queue.report(Self.trip(token, from: "198.51.100.2", at: start))
        queue.report(Self.trip(token, from: "198.51.100.1", at: start.addingTimeInterval(61)))
        let (trips, dropped) = queue.take()
        #expect(trips.count == 4, "one per kind and address, and one more after the quiet period")
        #expect(dropped == 0)
        #expect(queue.take().trips.isEmpty)
    }

    @Test func aFullQueueDropsAndCounts() {
        let queue = TokenTripQueue(quietSeconds: 60, capacity: 5)
        for i in 0..<50 { queue.report(Self.trip(UUID(), from: "10.0.0.\(i)", at: Date())) }
        let (trips, dropped) = queue.take()
        #expect(trips.count == 5 && dropped == 45)
        // A recorded trip keeps its quiet period after the queue is emptied.
        queue.report(Self.trip(trips[0].tripwire.tokenID, from: "10.0.0.0", at: Date()))
        #expect(queue.take().trips.isEmpty, "the first one is still within its quiet period")
    }

    @Test func rotatingAddressesAndOneBusyTenantAreBounded() {
        let queue = TokenTripQueue(quietSeconds: 60, capacity: 256)
        let canary = UUID(), now = Date()
        for i in 0..<10_000 { queue.report(Self.trip(canary, from: "2001:db8::\(String(i, radix: 16))", at: now)) }
        var taken = queue.take()
        #expect(taken.trips.count == TokenTripQueue.perTokenAddresses)
        #expect(taken.dropped == 10_000 - TokenTripQueue.perTokenAddresses)
        // One account's many canaries fill its share, and another account still gets through.
        let busy = UUID(), other = UUID()
        for _ in 0..<100 { queue.report(Self.trip(UUID(), from: "198.51.100.7", at: now, account: busy)) }
        queue.report(Self.trip(UUID(), from: "198.51.100.8", at: now, account: other))
        taken = queue.take()
        #expect(taken.trips.filter { $0.tripwire.accountID == busy }.count == TokenTripQueue.perAccount)
        #expect(taken.trips.contains { $0.tripwire.accountID == other })
    }

    @Test func aTripsRouteNeverHoldsASecret() {
        let secret = TokenFormat.generate(kind: .private)
        #expect(TokenTrip.route(method: "DELETE", path: "/api/access-tokens/\(secret)") == "DELETE /api/access-tokens/{token}")
        #expect(TokenTrip.route(method: "DELETE", path: "/api/access-tokens/an-imported-secret-of-another-format") == "DELETE /api/access-tokens/{token}")
        let id = UUID().uuidString.lowercased()
        #expect(TokenTrip.route(method: "GET", path: "/api/access-tokens/\(id)/usage") == "GET /api/access-tokens/\(id)/usage")
        #expect(TokenTrip.route(method: "POST", path: "/logs/\(secret)") == "POST /logs/{token}")
        #expect(TokenTrip.route(method: "POST", path: "/api/logs") == "POST /api/logs")
    }
}
