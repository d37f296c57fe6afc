import Foundation
import KeyflareCore
import Testing

/// The trip queue is bounded before anything is spent: one record per kind, token and address per
/// quiet period, at most `capacity` waiting, the rest counted as dropped.
@Suite struct TokenTripQueueTests {
    static func trip(_ token: UUID, from ip: String, at date: Date, kind: TokenTripwire.Kind = .canary) -> TokenTrip {
        TokenTrip(
            tripwire: TokenTripwire(kind: kind, tokenID: token, accountID: UUID(), answer: TokenRejection.unknown),
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
}
