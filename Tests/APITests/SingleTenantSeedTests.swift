import Foundation
import HTTPTypes
import HummingbirdTesting
import KeyflareCore
import KeyflareHTTP
import KeyflareStore
import PQ
import PQServices
import Testing

@testable import KeyflareTestSupport

/// KEYFLARE_SINGLE_TENANT with seeded tokens: a default account on first start, tokens with the
/// operator's exact secrets, idempotent, and a changed value revoking the token seeded before it.
@Suite struct SingleTenantSeedTests {
    @Test func startupSeedsOnceAndAChangedValueRevokesThePreviousToken() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let public1 = TokenFormat.generate(kind: .public)
        let private1 = TokenFormat.generate(kind: .private)
        let app = try t.instance(configure: {
            $0.singleTenant = true
            $0.seedTokens = [.public: public1, .private: private1]
        })
        try await app.application.test(.router) { client throws in
            let ready = await eventually(timeout: .seconds(30)) { app.readiness.isReady && app.readiness.isListenerUp }
            #expect(ready != nil)
            #expect(try await client.send("/api/auth/check", headers: .apiKey(public1)).status == .ok)
            #expect(try await client.send("/api/auth/check", headers: .bearer(private1)).status == .ok)
            let listed = try jsonArray(try await client.send("/api/access-tokens", headers: .apiKey(private1)).body)
            #expect(Set(listed.compactMap { $0["scopes"] as? [String] }) == [["ingest", "query"], ["ingest", "query", "management"]])
            // The public token has no management scope.
            let denied = try await client.send("/api/access-tokens", headers: .apiKey(public1))
            #expect(denied.status == .forbidden)

            // A second start with the same values changes nothing.
            let seed = SingleTenantSeed(pool: t.pool)
            let again = try await seed.run(tokens: [.public: public1, .private: private1])
            #expect(!again.createdAccount && again.seeded.isEmpty && again.replaced.isEmpty)

            // A new public value: the old public token is revoked on the running instance too.
            let public2 = TokenFormat.generate(kind: .public)
            let changed = try await seed.run(tokens: [.public: public2, .private: private1])
            #expect(changed.accountID == again.accountID)
            #expect(changed.seeded == [.public] && changed.replaced == [.public])
            let rejected = await eventually(timeout: .seconds(5)) {
                (try? await client.send("/api/auth/check", headers: .apiKey(public1)).status) == .unauthorized
            }
            #expect(rejected != nil)
            #expect(try await client.send("/api/auth/check", headers: .apiKey(public2)).status == .ok)
            #expect(try await client.send("/api/auth/check", headers: .apiKey(private1)).status == .ok)

            // An unset value leaves the earlier seeded token alone.
            #expect(try await seed.run(tokens: [:]).seeded.isEmpty)
            #expect(try await client.send("/api/auth/check", headers: .apiKey(public2)).status == .ok)

            // Going back to a revoked value, or naming a token made through the API, is refused.
            await #expect(throws: ConfigurationError.self) { try await seed.run(tokens: [.public: public1]) }
            let created = try json(try await client.send(
                "/api/access-tokens", method: .post, headers: .apiKey(private1), body: #"{"scopes":"ingest"}"#).body)
            let apiToken = try #require(created["token"] as? String)
            await #expect(throws: ConfigurationError.self) { try await seed.run(tokens: [.public: apiToken]) }
            #expect(try await client.send("/api/auth/check", headers: .apiKey(public2)).status == .ok)

            // A seeded token that has since expired (rolled through the API, say) is not kept as is.
            try await t.pool.query("UPDATE access_tokens SET expires_at = now() WHERE seeded_as = 'private'")
            await #expect(throws: ConfigurationError.self) { try await seed.run(tokens: [.private: private1]) }
        }
        #expect(try await t.count("SELECT count(*) AS n FROM accounts") == 1)
        #expect(try await t.count("SELECT count(*) AS n FROM access_tokens WHERE seeded_as IS NOT NULL AND revoked_at IS NULL") == 2)
        #expect(try await t.count("SELECT count(*) AS n FROM audit_events WHERE action = 'token.revoked'") == 1)
        for secret in [public1, private1] { #expect(!t.log.text.contains(secret)) }
        #expect(t.log.text.contains("single-tenant account ready"))
    }

    @Test func instancesStartingTogetherSeedOneAccount() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let tokens: [TokenKind: String] = [.public: TokenFormat.generate(kind: .public), .private: TokenFormat.generate(kind: .private)]
        let outcomes = try await withThrowingTaskGroup(of: SingleTenantSeed.Outcome.self) { group in
            for _ in 0..<4 { group.addTask { try await SingleTenantSeed(pool: t.pool).run(tokens: tokens) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(outcomes.map(\.accountID)).count == 1)
        #expect(outcomes.filter(\.createdAccount).count == 1)
        #expect(outcomes.filter { !$0.seeded.isEmpty }.count == 1)
        #expect(try await t.count("SELECT count(*) AS n FROM access_tokens") == 2)
    }
}
