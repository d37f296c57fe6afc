import Foundation
import HTTPTypes
import HummingbirdTesting
import KeyflareCore
import Testing

@testable import KeyflareTestSupport

@Suite struct AccessTokenAPITests {
    @Test func createListShowAndRevoke() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (_, management) = try await t.account()
        try await t.application().test(.router) { client throws in
            let created = try await client.send(
                "/api/access-tokens", method: .post, headers: .apiKey(management), body: #"{"description":"browser"}"#
            )
            #expect(created.status == .created)
            let object = try json(created.body)
            let secret = try #require(object["token"] as? String)
            let id = try #require(object["id"] as? String)
            #expect(secret.hasPrefix("kf_pub_"))
            #expect(object["scopes"] as? [String] == ["ingest"])
            #expect(object["type"] as? String == "public")
            #expect(object["hint"] as? String == String(secret.suffix(4)))
            #expect(object["description"] as? String == "browser")
            for key in ["expires_at", "revoked_at", "last_used_at"] { #expect(object[key] is NSNull, "\(key)") }
            #expect((object["created_at"] as? String)?.hasSuffix("Z") == true)

            let shown = try json(try await client.send("/api/access-tokens/\(id)", headers: .apiKey(management)).body)
            #expect(shown["id"] as? String == id)
            #expect(shown["token"] == nil)

            // Rotation: both tokens work side by side until the old one is revoked.
            #expect(try await client.send("/api/auth/check", headers: .apiKey(secret)).status == .ok)
            #expect(try await client.send("/api/access-tokens/\(id)", method: .delete, headers: .apiKey(management)).status == .noContent)
            #expect(try await client.send("/api/access-tokens/\(id)", method: .delete, headers: .apiKey(management)).status == .noContent)
            #expect(try await client.send("/api/auth/check", headers: .apiKey(secret)).status == .unauthorized)
            #expect(try await client.send("/api/auth/check", headers: .apiKey(management)).status == .ok)

            let active = try jsonArray(try await client.send("/api/access-tokens", headers: .apiKey(management)).body)
            #expect(!active.contains { $0["id"] as? String == id })
            let all = try jsonArray(try await client.send("/api/access-tokens?include_revoked=true", headers: .apiKey(management)).body)
            let revoked = try #require(all.first { $0["id"] as? String == id })
            #expect(revoked["revoked_at"] is String)
        }
    }

    @Test func scopesAreCanonicalAndAcceptAliasesAndSpaceSeparatedText() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (a, management) = try await t.account()
        let source = try await t.source("web", account: a)
        let endpoint = try await t.endpoint("daily", account: a)
        try await t.application().test(.router) { client throws in
            for (body, scopes, type) in [
                (#"{"scopes":["public"]}"#, ["ingest"], "public"),
                (#"{"scopes":"private"}"#, ["management"], "private"),
                (#"{"scopes":"ingest:source:\#(source) query:endpoint:\#(endpoint) query"}"#,
                 ["ingest:source:\(source.uuidString.lowercased())", "query:endpoint:\(endpoint.uuidString.lowercased())", "query"], "public"),
                (#"{"scopes":["ingest","public","management","private"]}"#, ["ingest", "management"], "private"),
            ] {
                let response = try await client.send("/api/access-tokens", method: .post, headers: .apiKey(management), body: body)
                #expect(response.status == .created, "\(body): \(response.body)")
                let object = try json(response.body)
                #expect(object["scopes"] as? [String] == scopes)
                #expect(object["type"] as? String == type)
                #expect((object["token"] as? String)?.hasPrefix(type == "private" ? "kf_prv_" : "kf_pub_") == true)
            }
        }
    }

    @Test func badScopesAndBodiesAreRejectedAndNothingIsCreated() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (a, management) = try await t.account("Alpha")
        let (b, _) = try await t.account("Beta")
        let theirSource = try await t.source("theirs", account: b)
        let theirEndpoint = try await t.endpoint("theirs", account: b)
        _ = a
        try await t.application().test(.router) { client throws in
            for (body, status, needle) in [
                (#"{"scopes":["ingest","superuser"]}"#, HTTPResponse.Status.unprocessableContent, "superuser"),
                (#"{"scopes":["ingest:source:\#(theirSource)"]}"#, .unprocessableContent, theirSource.uuidString.lowercased()),
                (#"{"scopes":["query:endpoint:\#(theirEndpoint)"]}"#, .unprocessableContent, theirEndpoint.uuidString.lowercased()),
                (#"{"scopes":["ingest:source:not-a-uuid"]}"#, .unprocessableContent, "ingest:source:not-a-uuid"),
                (#"{"scopes":[]}"#, .unprocessableContent, "at least one scope"),
                (#"{"scopes":" , "}"#, .unprocessableContent, "at least one scope"),
                (#"{"scopes":42}"#, .unprocessableContent, "scopes"),
                (#"{"expires_at":"2001-01-01T00:00:00Z"}"#, .unprocessableContent, "future"),
                (#"{"expires_at":"tomorrow"}"#, .unprocessableContent, "RFC 3339"),
                (#"{"description":7}"#, .badRequest, "description"),
                (#"{not json"#, .badRequest, "JSON"),
            ] {
                let response = try await client.send("/api/access-tokens", method: .post, headers: .apiKey(management), body: body)
                #expect(response.status == status, "\(body): \(response.body)")
                #expect(response.body.contains(needle), "\(body): \(response.body)")
            }
        }
        let count = try await t.pool.query("SELECT count(*) AS n FROM access_tokens").first!.decode("n", as: Int.self)
        #expect(count == 2, "only the two accounts' own management tokens exist")
    }

    @Test func deleteAcceptsTheTokenStringLikeLogflare() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (a, management) = try await t.account()
        let victim = try await t.token([.ingest], account: a)
        try await t.application().test(.router) { client throws in
            #expect(try await client.send("/api/access-tokens/\(victim.secret)", method: .delete, headers: .apiKey(management)).status == .noContent)
            #expect(try await client.send("/api/auth/check", headers: .apiKey(victim.secret)).status == .unauthorized)
            #expect(try await client.send("/api/access-tokens/\(TokenFormat.generate(kind: .public))", method: .delete, headers: .apiKey(management)).status == .notFound)
            #expect(try await client.send("/api/access-tokens/garbage", method: .delete, headers: .apiKey(management)).status == .notFound)
        }
    }

    @Test func accountShowsIdAndName() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (a, management) = try await t.account("Acme Logs")
        try await t.application().test(.router) { client throws in
            let body = try json(try await client.send("/api/account", headers: .apiKey(management)).body)
            #expect(body["id"] as? String == a.uuidString.lowercased())
            #expect(body["name"] as? String == "Acme Logs")
        }
    }
}
