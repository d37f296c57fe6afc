import Foundation
import Testing

@testable import KeyflareCore

/// The registry behind confirmed revocation, without a database.
@Suite struct RevocationConfirmationsTests {
    @Test func aWaitEndsAsSoonAsEveryInstanceHasAcknowledged() async throws {
        let registry = RevocationConfirmations()
        let nonce = try #require(registry.register())
        registry.acknowledged("\(nonce) a")
        Task {
            try await Task.sleep(for: .milliseconds(20))
            registry.acknowledged("\(nonce) b")
        }
        let start = ContinuousClock.now
        let acked = await registry.wait(for: nonce, from: ["a", "b"], timeout: .seconds(60))
        #expect(acked == ["a", "b"])
        #expect(ContinuousClock.now - start < .seconds(50), "woken by the acknowledgement, not the timeout")
        #expect(registry.count == 0, "the nonce is forgotten")
    }

    @Test func aTimeoutShorterThanTheRegistrationStillEnds() async throws {
        let registry = RevocationConfirmations()
        let nonce = try #require(registry.register())
        #expect(await registry.wait(for: nonce, from: ["a"], timeout: .zero).isEmpty)
        #expect(registry.count == 0)
    }

    @Test func aForgedFloodOfInstanceIdsIsBounded() async throws {
        let registry = RevocationConfirmations()
        let nonce = try #require(registry.register())
        for i in 0..<10_000 { registry.acknowledged("\(nonce) forged-\(i)") }
        registry.acknowledged("\(nonce) real")
        let acked = await registry.wait(for: nonce, from: ["real"], timeout: .milliseconds(10))
        #expect(acked.isEmpty, "past the bound nothing more is recorded, so the real one is reported missing, not trusted")
    }

    @Test func aSilentInstanceIsLeftOutAfterTheTimeout() async throws {
        let registry = RevocationConfirmations()
        let nonce = try #require(registry.register())
        registry.acknowledged("\(nonce) a")
        registry.acknowledged("\(nonce) stranger")  // not among the live ones: not reported
        let acked = await registry.wait(for: nonce, from: ["a", "c"], timeout: .milliseconds(30))
        #expect(acked == ["a"])
    }

    @Test func acknowledgementsForUnknownNoncesOrMalformedOnesAreIgnored() async throws {
        let registry = RevocationConfirmations()
        for payload in ["", "nonce-only", "\(UUID().uuidString.lowercased()) a", "x " + String(repeating: "i", count: 65)] {
            registry.acknowledged(payload)
        }
        #expect(registry.count == 0, "nothing is stored for a nonce no one registered")
        let nonce = try #require(registry.register())
        registry.acknowledged("\(nonce) " + String(repeating: "i", count: 65))
        #expect(await registry.wait(for: nonce, from: [String(repeating: "i", count: 65)], timeout: .milliseconds(5)).isEmpty)
    }

    @Test func registrationsAreBounded() {
        let registry = RevocationConfirmations()
        for _ in 0..<RevocationConfirmations.maxWaiting { #expect(registry.register() != nil) }
        #expect(registry.register() == nil, "past the bound, a revoke is answered without waiting")
    }

    @Test func onlyAWellFormedMarkerCarriesANonce() {
        let nonce = UUID().uuidString.lowercased()
        #expect(RevocationConfirmations.nonce(ofMarker: "confirm:\(nonce)") == nonce)
        for payload in ["confirm:", "confirm:\(nonce)x", "confirm:\(nonce.uppercased())", "flush", String(repeating: "ab", count: 32),
            "confirm:\(nonce.dropLast())g"]
        {
            #expect(RevocationConfirmations.nonce(ofMarker: payload) == nil, "\(payload)")
        }
    }

    @Test func theReportNamesTheSilentInstances() {
        let a = LiveInstance(id: "a1", address: "10.0.0.1:4000", listening: true)
        let c = LiveInstance(id: "c3", address: "10.0.0.3:4000", listening: true)
        #expect(RevocationReport(confirmed: [a, c], unconfirmed: []).headerValue == "confirmed=2/2")
        #expect(RevocationReport(confirmed: [a], unconfirmed: [c]).headerValue == "confirmed=1/2; unconfirmed=c3", "no address")
        #expect(RevocationReport(confirmed: [], unconfirmed: []).headerValue == "confirmed=0/0")
    }
}
