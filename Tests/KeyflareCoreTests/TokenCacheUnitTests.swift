import Foundation
import Synchronization
import Testing

@testable import KeyflareCore

@Suite struct TokenCacheUnitTests {
    func record(expiresAt: Date? = nil, revoked: Bool = false) -> TokenRecord {
        TokenRecord(
            token: VerifiedToken(tokenID: UUID(), accountID: UUID(), scopes: [.ingest], expiresAt: expiresAt),
            revokedAt: revoked ? Date() : nil
        )
    }

    @Test func untrustedCacheIsNeverUsed() {
        let cache = TokenCache()
        let digest = TokenFormat.digest(of: "a")
        #expect(!cache.insert(.unknown, for: digest, generation: cache.generation))
        cache.trust()
        #expect(cache.insert(.unknown, for: digest, generation: cache.generation))
        #expect(cache.get(digest) == .unknown)
        cache.distrust()
        #expect(cache.get(digest) == nil)
        cache.trust()
        #expect(cache.get(digest) == nil, "trusting again starts empty")
    }

    /// 50,000 distinct unknown tokens fill only the negative store: every verified token stays.
    @Test func unknownTokensNeverEvictVerifiedOnes() {
        let cache = TokenCache(configuration: .init(maxEntries: 100, maxNegativeEntries: 1_024))
        cache.trust()
        let verified = (0..<100).map { TokenFormat.digest(of: "real \($0)") }
        for digest in verified { cache.insert(.found(record()), for: digest, generation: cache.generation) }
        for i in 0..<50_000 { cache.insert(.unknown, for: TokenFormat.digest(of: "junk \(i)"), generation: cache.generation) }
        #expect(verified.allSatisfy { if case .found = cache.get($0) { true } else { false } })
        #expect(cache.verifiedCount == 100)
        #expect(cache.count <= 100 + 1_024)
        // A token that is found later replaces its negative entry.
        let late = TokenFormat.digest(of: "junk 49999")
        #expect(cache.get(late) == .unknown)
        cache.insert(.found(record()), for: late, generation: cache.generation)
        if case .found = cache.get(late) {} else { Issue.record("the found entry did not replace the negative one") }
    }

    @Test func aFillAfterAnInvalidationIsDropped() {
        let cache = TokenCache()
        cache.trust()
        let digest = TokenFormat.digest(of: "a")
        let generation = cache.generation
        cache.invalidate(TokenFormat.digest(of: "some other token"))
        #expect(!cache.insert(.found(record()), for: digest, generation: generation))
        #expect(cache.get(digest) == nil)
        #expect(cache.insert(.found(record()), for: digest, generation: cache.generation))
        cache.invalidate(digest)
        #expect(cache.get(digest) == nil)
    }

    @Test func entriesAgeOut() async throws {
        // Generous margins: this machine may be busy, and only the order of events matters.
        let cache = TokenCache(configuration: .init(maxEntries: 10, maxAge: .seconds(2), negativeTTL: .milliseconds(100)))
        cache.trust()
        let positive = TokenFormat.digest(of: "p")
        let negative = TokenFormat.digest(of: "n")
        let clock = ContinuousClock()
        let start = clock.now
        cache.insert(.found(record()), for: positive, generation: cache.generation)
        cache.insert(.unknown, for: negative, generation: cache.generation)
        try await Task.sleep(for: .milliseconds(300))
        #expect(cache.get(negative) == nil)
        if clock.now - start < .milliseconds(1900) { #expect(cache.get(positive) != nil) }
        try await Task.sleep(until: start + .milliseconds(2100))
        #expect(cache.get(positive) == nil)
    }

    @Test func expiryAndRevocationAreCheckedOnEveryUse() {
        #expect(throws: TokenRejection.expired) { try record(expiresAt: Date().addingTimeInterval(-0.001)).validate(now: Date()) }
        #expect(throws: TokenRejection.revoked) { try record(revoked: true).validate(now: Date()) }
        #expect(throws: Never.self) { try record(expiresAt: Date().addingTimeInterval(60)).validate(now: Date()) }
    }

    @Test func hexDigestsRoundTrip() {
        let digest = TokenFormat.digest(of: "x")
        #expect(TokenDigest(hex: digest.hex) == digest)
        #expect(TokenDigest(hex: digest.hex.uppercased()) == digest)
        #expect(TokenDigest(hex: "flush") == nil)
        #expect(TokenDigest(hex: String(repeating: "g", count: 64)) == nil)
    }

    /// A lookup that knows no tokens and counts its calls, standing in for the database so that a
    /// million verifications run in seconds; the cache and verifier under test are the real ones.
    final class EmptyLookup: TokenLookup {
        let calls = Atomic<Int>(0)
        func lookup(_ digest: TokenDigest) async throws -> TokenRecord? {
            calls.add(1, ordering: .relaxed)
            return nil
        }
    }

    @Test func aMillionGarbageTokensNeverGrowTheCachePastItsBound() async throws {
        // Garbage lands in the negative store alone, which has its own bound.
        let bound = 10_000
        let cache = TokenCache(configuration: .init(maxEntries: 50_000, maxNegativeEntries: bound))
        cache.trust()
        let lookup = EmptyLookup()
        let verifier = CachingTokenVerifier(cache: cache, lookup: lookup)
        // Well-formed garbage: random bodies with correct checksums, so each one gets past the
        // format check and is hashed, looked up and cached as unknown.
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
        var generator = SystemRandomNumberGenerator()
        var maxSeen = 0
        for i in 0..<1_000_000 {
            var body = Array("kf_pub_".utf8)
            for _ in 0..<43 { body.append(alphabet[Int(generator.next() % 62)]) }
            let head = String(decoding: body, as: UTF8.self)
            let token = head + TokenFormat.checksum(of: body)
            do {
                _ = try await verifier.verify(token)
                Issue.record("garbage was accepted")
            } catch let error as KeyflareError {
                if i == 0 { #expect(error == TokenRejection.unknown) }
            }
            if i % 50_000 == 0 { maxSeen = max(maxSeen, cache.count) }
            // This loop never suspends on its own; let the other tests' tasks run on the shared pool.
            if i % 500 == 0 { await Task.yield() }
        }
        maxSeen = max(maxSeen, cache.count)
        #expect(maxSeen <= bound)
        #expect(maxSeen >= bound - 16, "the negative store fills up to its bound")
        #expect(cache.verifiedCount == 0)
        #expect(lookup.calls.load(ordering: .relaxed) == 1_000_000)
    }
}
