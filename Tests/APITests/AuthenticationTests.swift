import Foundation
import HTTPTypes
import HummingbirdTesting
import KeyflareCore
import Testing

@testable import KeyflareTestSupport

@Suite struct AuthenticationTests {
    @Test func eachOfTheThreeMethodsWorks() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (_, token) = try await t.account()
        try await t.application().test(.router) { client throws in
            #expect(try await client.send("/api/auth/check", headers: .bearer(token)).status == .ok)
            #expect(try await client.send("/api/auth/check", headers: [.authorization: "bEaReR \(token)"]).status == .ok)
            #expect(try await client.send("/api/auth/check", headers: .apiKey(token)).status == .ok)
            #expect(try await client.send("/api/auth/check?api_key=\(token)").status == .ok)
        }
    }

    @Test func precedenceIsBearerThenHeaderThenQuery() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (a, good) = try await t.account()
        let revoked = try await t.token([.ingest], account: a)
        try await t.pool.query("UPDATE access_tokens SET revoked_at = now() WHERE id = \(revoked.id)")
        try await t.application().test(.router) { client throws in
            // The higher-precedence method decides, whatever the others carry.
            var headers: HTTPFields = .bearer(good)
            headers[HTTPField.Name("X-API-KEY")!] = revoked.secret
            #expect(try await client.send("/api/auth/check?api_key=\(revoked.secret)", headers: headers).status == .ok)

            headers = .bearer(revoked.secret)
            headers[HTTPField.Name("X-API-KEY")!] = good
            #expect(try await client.send("/api/auth/check?api_key=\(good)", headers: headers).status == .unauthorized)

            #expect(try await client.send("/api/auth/check?api_key=\(good)", headers: .apiKey(revoked.secret)).status == .unauthorized)
            #expect(try await client.send("/api/auth/check?api_key=\(revoked.secret)", headers: .apiKey(good)).status == .ok)
        }
    }

    @Test func emptyValuesCountAsMissing() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (_, good) = try await t.account()
        try await t.application().test(.router) { client throws in
            var headers: HTTPFields = [.authorization: "Bearer "]
            headers[HTTPField.Name("X-API-KEY")!] = good
            #expect(try await client.send("/api/auth/check", headers: headers).status == .ok)
            #expect(try await client.send("/api/auth/check?api_key=\(good)", headers: .apiKey("")).status == .ok)
            #expect(try await client.send("/api/auth/check?api_key=\(good)", headers: [.authorization: "Bearer"]).status == .ok)
            let missing = try await client.send("/api/auth/check?api_key=", headers: .apiKey(""))
            #expect(missing.status == .unauthorized)
            #expect(missing.headers[.wwwAuthenticate] == #"Bearer realm="keyflare""#)
            let body = try json(missing.body)
            #expect(body["error"] as? String == "Unauthorized")
            #expect((body["message"] as? String)?.hasPrefix("missing") == true)
        }
    }

    @Test func eachRejectionSaysWhy() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (a, good) = try await t.account()
        let revoked = try await t.token([.ingest], account: a)
        try await t.pool.query("UPDATE access_tokens SET revoked_at = now() WHERE id = \(revoked.id)")
        let expired = try await t.token([.ingest], account: a, expiresAt: Date().addingTimeInterval(3600))
        try await t.pool.query("UPDATE access_tokens SET expires_at = now() - interval '1 second' WHERE id = \(expired.id)")
        let unknown = TokenFormat.generate(kind: .private)
        var characters = Array(good)
        characters[20] = characters[20] == "a" ? "b" : "a"
        let typo = String(characters)
        try await t.application().test(.router) { client throws in
            for (token, word) in [
                ("not-a-token", "malformed"), (typo, "checksum"), (unknown, "unknown"),
                (revoked.secret, "revoked"), (expired.secret, "expired"),
            ] {
                let response = try await client.send("/api/auth/check", headers: .bearer(token))
                #expect(response.status == .unauthorized, "\(word)")
                #expect(response.body.contains(word), "\(response.body)")
                #expect(response.headers[.wwwAuthenticate] == #"Bearer realm="keyflare""#)
                #expect(!response.body.contains(token))
            }
        }
    }

    @Test func authCheckDescribesTheToken() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (a, _) = try await t.account()
        let source = try await t.source("web", account: a)
        let expiry = Date(timeIntervalSince1970: 4_102_444_800)
        let token = try await t.token([.ingestSource(source), .query], account: a, expiresAt: expiry)
        try await t.application().test(.router) { client throws in
            let response = try await client.send("/api/auth/check", headers: .apiKey(token.secret))
            #expect(response.status == .ok)
            let body = try json(response.body)
            #expect(body["token_id"] as? String == token.id.uuidString.lowercased())
            #expect(body["account_id"] as? String == a.uuidString.lowercased())
            #expect(body["type"] as? String == "public")
            #expect(body["scopes"] as? [String] == ["ingest:source:\(source.uuidString.lowercased())", "query"])
            #expect(body["expires_at"] as? String == "2100-01-01T00:00:00.000Z")
        }
    }

    @Test func secretsNeverAppearInResponsesOrLogs() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (a, management) = try await t.account()
        let source = try await t.source("web", account: a)
        let app = try t.application()
        let created = try await app.test(.router) { client -> String in
            let response = try await client.send(
                "/api/access-tokens", method: .post, headers: .bearer(management),
                body: #"{"description":"ci","scopes":["ingest"]}"#
            )
            #expect(response.status == .created)
            let created = try #require(json(response.body)["token"] as? String)
            let id = try #require(json(response.body)["id"] as? String)
            for path in ["/api/access-tokens", "/api/access-tokens/\(id)", "/api/access-tokens?include_revoked=true"] {
                let listed = try await client.send(path, headers: .apiKey(management))
                #expect(listed.status == .ok)
                #expect(!listed.body.contains(created))
                #expect(!listed.body.contains(management))
                #expect(!listed.body.contains("\"token\""))
            }
            // Use both secrets in every way they can be presented, including failures.
            try await client.send("/api/logs?api_key=\(created)&source=\(source)", method: .post, body: #"{"m":1}"#)
            try await client.send("/api/logs?source=\(source)", method: .post, headers: .bearer(created), body: "not json")
            try await client.send("/api/sources/\(UUID())?api_key=\(created)")
            try await client.send("/nowhere?api_key=\(created)")
            try await client.send("/api/access-tokens/\(created)", method: .delete, headers: .apiKey(management))
            try await client.send("/api/auth/check", headers: .apiKey(created))
            return created
        }
        #expect(t.log.count > 0, "the capture should have seen the application's log")
        #expect(!t.log.text.contains(created))
        #expect(!t.log.text.contains(management))
        let stored = try await t.pool.query("SELECT count(*) AS n FROM access_tokens WHERE hint = \(String(created.suffix(4)))")
        #expect(try stored.first!.decode("n", as: Int.self) == 1)
        let plaintext = try await t.pool.query(
            "SELECT count(*) AS n FROM access_tokens WHERE position(\(created) IN description || hint || array_to_string(scopes, ',')) > 0"
        )
        #expect(try plaintext.first!.decode("n", as: Int.self) == 0)
    }

    @Test func unauthenticatedUploadIsRejectedBeforeItsBodyIsRead() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (a, _) = try await t.account()
        let source = try await t.source("web", account: a)
        try await t.application().test(.live) { client throws in
            let port = try #require(client.port)
            // Announce 50 MB, send only the first KiB, and never send the rest: a server that buffered
            // the body before authenticating could not answer at all.
            let head = "POST /api/logs?source=\(source) HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(50 * 1024 * 1024)\r\n\r\n"
            var answer = ""
            // The server closes the connection after answering, since the rest of the body will never
            // come; on a busy machine a reset can overtake the answer in the client's kernel, so an
            // empty read is retried. A server that waited for the body would time out every time.
            for _ in 0..<3 where answer.isEmpty {
                answer = try await RawHTTP.send(port: port, head: head, bodyPrefix: 1024, timeout: 10)
            }
            #expect(answer.hasPrefix("HTTP/1.1 401"), "\(answer.prefix(200))")
            #expect(answer.contains("missing access token"))
        }
        #expect(try await t.eventCount(source: source) == 0)
    }
}
