import Foundation
import HTTPTypes
import HummingbirdTesting
import KeyflareCore
import KeyflareServer
import KeyflareStore
import Testing

@testable import KeyflareTestSupport

/// Tokens of another format (a Logflare user's, a self-hosted Supabase's free-form value): imported,
/// then verified, cached and revoked exactly like Keyflare's own, on every instance.
@Suite struct ImportedTokenTests {
    /// What self-hosted Supabase's example configuration ships, and a Logflare-style value.
    static let supabaseStyle = "self-hosted-supabase-style-secret-0042"
    static let logflareStyle = "0a1B2c3D4e5F6g7H8i9J"

    @Test func importedTokensWorkOnEveryInstanceAndRevokeWithinOneNotification() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (accountID, management) = try await t.account()
        let source = try await t.source("app", account: accountID)
        let store = AccessTokenStore(pool: t.pool)
        let ingest = try await store.importToken(
            Self.supabaseStyle, accountID: accountID, description: "from supabase", scopes: [.ingest], expiresAt: nil, actor: .operator)
        #expect(ingest.format == .imported)
        #expect(ingest.hint == "0042")
        let other = try await store.importToken(
            Self.logflareStyle, accountID: accountID, description: "logflare", scopes: [], expiresAt: nil, actor: .operator)
        #expect(other.scopes == [.ingest], "an empty scope list is ingest, as Logflare treats legacy tokens")
        // A short secret does not show a quarter of itself as its hint.
        #expect(other.hint == "****")
        // Only its digest is stored.
        #expect(try await t.count("SELECT count(*) AS n FROM access_tokens WHERE hint = '0042' AND format = 'imported'") == 1)
        #expect(try await t.count(
            "SELECT count(*) AS n FROM access_tokens WHERE position(\(Self.supabaseStyle) IN description || hint || array_to_string(scopes, ',')) > 0"
        ) == 0)

        let a = try t.instance()
        let b = try t.instance()
        try await a.application.test(.router) { clientA throws in
            try await b.application.test(.router) { clientB throws in
                for app in [a, b] {
                    let ok = await eventually(timeout: .seconds(30)) { app.readiness.isReady && app.readiness.isListenerUp }
                    #expect(ok != nil)
                }
                for client in [clientA, clientB] as [any TestClientProtocol] {
                    let check = try await client.send("/api/auth/check", headers: .bearer(Self.supabaseStyle))
                    #expect(check.status == .ok, "\(check.body)")
                    #expect(try json(check.body)["type"] as? String == "public")
                    // As Logflare's clients send it: ?api_key= and the batch.
                    let logged = try await client.send(
                        "/api/logs?api_key=\(Self.supabaseStyle)&source=\(source)", method: .post, body: #"{"batch":[{"message":"m"}]}"#)
                    #expect(logged.status == .ok, "\(logged.body)")
                }
                let shown = try await clientA.send("/api/access-tokens/\(ingest.id)", headers: .apiKey(management))
                #expect(try json(shown.body)["format"] as? String == "imported")

                // Revoked through A by the token string itself: B refuses it within one notification.
                let revoked = try await clientA.send("/api/access-tokens/\(Self.supabaseStyle)", method: .delete, headers: .apiKey(management))
                #expect(revoked.status == .noContent)
                let propagation = try await eventually(timeout: .milliseconds(500), every: .milliseconds(1)) {
                    try await clientB.send("/api/auth/check", headers: .bearer(Self.supabaseStyle)).status == .unauthorized
                }
                #expect(propagation != nil, "B still accepted the imported token revoked through A")
                #expect(try await clientB.send("/api/auth/check", headers: .apiKey(Self.logflareStyle)).status == .ok)
            }
        }
        #expect(try await t.eventCount(source: source) == 2)
    }

    @Test func whatCannotBeImported() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (accountID, management) = try await t.account()
        let store = AccessTokenStore(pool: t.pool)
        for bad in ["short-token", "has a space in it ok", "tab\there-is-long-enough", String(repeating: "x", count: 513), "kf_pub_not-our-checksum-but-long"] {
            await #expect(throws: KeyflareError.self, "\(bad)") {
                try await store.importToken(bad, accountID: accountID, description: "", scopes: [.ingest], expiresAt: nil, actor: .operator)
            }
        }
        _ = try await store.importToken(Self.logflareStyle, accountID: accountID, description: "", scopes: [.ingest], expiresAt: nil, actor: .operator)
        // The example value self-hosted Supabase publishes is nobody's secret.
        await #expect(throws: KeyflareError.self) {
            try await store.importToken(
                "your-super-secret-and-long-logflare-key", accountID: accountID, description: "", scopes: [.ingest], expiresAt: nil,
                actor: .operator)
        }
        await #expect(throws: KeyflareError.conflict("that token is already in use")) {
            try await store.importToken(Self.logflareStyle, accountID: accountID, description: "", scopes: [.ingest], expiresAt: nil, actor: .operator)
        }
        try await t.application().test(.router) { client throws in
            // Our own prefix keeps its fast refusal: no lookup for a kf_ string with a bad checksum.
            let ours = try await client.send("/api/auth/check", headers: .bearer("kf_pub_" + String(repeating: "a", count: 49)))
            #expect(ours.status == .unauthorized)
            #expect(ours.body.contains("checksum") || ours.body.contains("malformed"))
            // Too short to be any token: malformed, before any lookup.
            let short = try await client.send("/api/auth/check", headers: .bearer("short"))
            #expect(short.status == .unauthorized)
            #expect(short.body.contains("malformed"))
            // Importable but unknown: looked up, and unknown.
            let unknown = try await client.send("/api/auth/check", headers: .bearer("never-imported-but-well-formed"))
            #expect(unknown.status == .unauthorized)
            #expect(unknown.body.contains("unknown"))
            #expect(try await client.send("/api/auth/check", headers: .apiKey(management)).status == .ok)
            // DELETE by token string is no oracle for a public token: 403 whether or not it exists.
            let publicToken = try await t.token([.ingest], account: accountID)
            for candidate in [Self.logflareStyle, "no-such-token-but-well-formed"] {
                let answer = try await client.send("/api/access-tokens/\(candidate)", method: .delete, headers: .apiKey(publicToken.secret))
                #expect(answer.status == .forbidden, "\(candidate)")
            }
            #expect(try await client.send("/api/auth/check", headers: .apiKey(Self.logflareStyle)).status == .ok)
        }
    }
}
