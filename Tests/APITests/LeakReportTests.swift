import Crypto
import Foundation
import HTTPTypes
import HummingbirdTesting
import KeyflareCore
import KeyflareServer
import PQ
import Testing

@testable import KeyflareTestSupport

/// Leaked-token reports in the format of GitHub's secret-scanning partner program, signed with a
/// test key pair: a good report revokes on every instance, a tampered, unsigned, replayed or
/// oversized one changes nothing.
@Suite struct LeakReportTests {
    static let keyID = "90a421169f0a406205f1563a953312f0be898d3c7b6c06b681aa86a874555f4a"
    static let identifier = HTTPField.Name("Github-Public-Key-Identifier")!
    static let signature = HTTPField.Name("Github-Public-Key-Signature")!

    static func keysDocument(_ key: P256.Signing.PrivateKey) throws -> String {
        let document: [String: Any] = [
            "public_keys": [["key_identifier": keyID, "key": key.publicKey.pemRepresentation, "is_current": true]]
        ]
        return String(decoding: try JSONSerialization.data(withJSONObject: document), as: UTF8.self)
    }

    static func signed(_ body: String, with key: P256.Signing.PrivateKey, keyID: String = keyID) throws -> HTTPFields {
        let signature = try key.signature(for: Data(body.utf8)).derRepresentation.base64EncodedString()
        return [Self.identifier: keyID, Self.signature: signature, .contentType: "application/json"]
    }

    static func report(_ tokens: [String]) throws -> String {
        let list = tokens.map { ["token": $0, "type": "keyflare_token", "url": "https://github.com/octo/app/blob/abc/.env", "source": "content"] }
        return String(decoding: try JSONSerialization.data(withJSONObject: list), as: UTF8.self)
    }

    @Test func aSignedReportRevokesOnEveryInstanceAndABadOneNothing() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (account, management) = try await t.account()
        let source = try await t.source("web", account: account)
        let key = P256.Signing.PrivateKey()
        let keys = try Self.keysDocument(key)
        let apps = try (0..<3).map { _ in try t.instance(configure: { $0.leakReportKeys = keys }) }
        try await apps[0].application.test(.router) { one throws in
            try await apps[1].application.test(.router) { two throws in
                try await apps[2].application.test(.router) { three throws in
                    let clients: [any TestClientProtocol] = [one, two, three]
                    func use(_ client: any TestClientProtocol, _ secret: String) async throws -> HTTPResponse.Status {
                        try await client.send("/api/logs?source=\(source)", method: .post, headers: .apiKey(secret), body: #"{"m":1}"#).status
                    }
                    let leaked = try await TokenAbuseControlTests.create(one, management, [:])
                    for client in clients { #expect(try await use(client, leaked.secret) == .ok) }
                    let notOurs = TokenFormat.generate(kind: .public)
                    let body = try Self.report([leaked.secret, notOurs, "ghp_notatoken"])

                    // Unsigned, signed by an unknown key, tampered with: 401, nothing revoked.
                    let other = P256.Signing.PrivateKey()
                    let tampered = body.replacingOccurrences(of: "content", with: "commit")
                    for (headers, sent) in [
                        ([HTTPField.Name.contentType: "application/json"] as HTTPFields, body),
                        (try Self.signed(body, with: other), body),
                        (try Self.signed(body, with: key, keyID: "another-key"), body),
                        (try Self.signed(body, with: key), tampered),
                    ] {
                        let answer = try await two.send("/api/token-leaks", method: .post, headers: headers, body: sent)
                        #expect(answer.status == .unauthorized, "\(answer.body)")
                    }
                    for client in clients { #expect(try await use(client, leaked.secret) == .ok) }

                    // Signed: the partner program's feedback, and the token refused everywhere.
                    let answer = try await two.send("/api/token-leaks", method: .post, headers: try Self.signed(body, with: key), body: body)
                    #expect(answer.status == .ok, "\(answer.body)")
                    let verdicts = try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [[String: String]]
                    #expect(verdicts?.map { $0["label"] } == ["true_positive", "false_positive", "false_positive"])
                    #expect(verdicts?.first?["token_hash"] == TokenFormat.digest(of: leaked.secret).hex)
                    #expect(verdicts?.first?["token_type"] == "keyflare_token")
                    for client in clients {
                        let refused = try await eventually(timeout: .seconds(5)) { try await use(client, leaked.secret) == .unauthorized }
                        #expect(refused != nil, "an instance still accepts the leaked token")
                    }
                    let rows = try await t.pool.query(
                        "SELECT actor_type, detail->>'url' AS url FROM audit_events WHERE action = 'token.leaked' AND target_id = \(UUID(uuidString: leaked.id)!)"
                    ).rows
                    #expect(rows.count == 1)
                    #expect(try rows.first?.decode("actor_type", as: String.self) == "scanner")
                    #expect(try rows.first?.decode("url", as: String.self) == "https://github.com/octo/app/blob/abc/.env")
                    let shown = try json(try await one.send("/api/access-tokens/\(leaked.id)", headers: .apiKey(management)).body)
                    #expect(!(shown["revoked_at"] is NSNull))

                    // The same signed report again: a replay.
                    let replay = try await three.send("/api/token-leaks", method: .post, headers: try Self.signed(body, with: key), body: body)
                    #expect(replay.status == .conflict, "\(replay.body)")

                    // Too many matches, or too many bytes: 413, nothing revoked.
                    let spare = try await TokenAbuseControlTests.create(one, management, [:])
                    let many = try Self.report([spare.secret] + (0..<1_000).map { _ in "x" })
                    let tooMany = try await one.send("/api/token-leaks", method: .post, headers: try Self.signed(many, with: key), body: many)
                    #expect(tooMany.status == .contentTooLarge, "\(tooMany.body)")
                    let huge = try Self.report([spare.secret] + (0..<100_000).map { _ in TokenFormat.generate(kind: .public) })
                    let tooBig = try await one.send("/api/token-leaks", method: .post, headers: try Self.signed(huge, with: key), body: huge)
                    #expect(tooBig.status == .contentTooLarge)
                    #expect(try await use(one, spare.secret) == .ok)
                    #expect(!t.log.text.contains(leaked.secret), "the leaked secret is in no log line")
                }
            }
        }
    }

    @Test func aReportedCanaryIsRecordedButKeepsWatching() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (_, management) = try await t.account()
        let key = P256.Signing.PrivateKey()
        let keys = try Self.keysDocument(key)
        try await t.instance(configure: { $0.leakReportKeys = keys }).application.test(.router) { client throws in
            let made = try json(try await client.send(
                "/api/access-tokens", method: .post, headers: .apiKey(management), body: #"{"canary": true, "scopes": ["management"]}"#).body)
            let id = try #require(made["id"] as? String), canary = try #require(made["token"] as? String)
            let body = try Self.report([canary])
            let answer = try await client.send("/api/token-leaks", method: .post, headers: try Self.signed(body, with: key), body: body)
            #expect(try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [[String: String]] == [
                ["token_hash": TokenFormat.digest(of: canary).hex, "token_type": "keyflare_token", "label": "true_positive"]
            ])
            let shown = try json(try await client.send("/api/access-tokens/\(id)", headers: .apiKey(management)).body)
            #expect(shown["revoked_at"] is NSNull, "revoking it would silence it for whoever found it")
            #expect(try await t.count("SELECT count(*) AS n FROM audit_events WHERE action = 'token.leaked' AND target_id = \(UUID(uuidString: id)!)") == 1)
            #expect(try await client.send("/api/account", headers: .bearer(canary)).status == .unauthorized)
            let tripped = try await eventually(timeout: .seconds(10), every: .milliseconds(50)) {
                try await t.count("SELECT count(*) AS n FROM audit_events WHERE action = 'token.canary_used' AND target_id = \(UUID(uuidString: id)!)") == 1
            }
            #expect(tripped != nil)
        }
    }

    @Test func withoutKeysEveryReportIsRefused() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (_, _) = try await t.account()
        let key = P256.Signing.PrivateKey()
        try await t.application().test(.router) { client throws in
            let body = try Self.report([TokenFormat.generate(kind: .public)])
            let answer = try await client.send("/api/token-leaks", method: .post, headers: try Self.signed(body, with: key), body: body)
            #expect(answer.status == .unauthorized)
            #expect(answer.body.contains("KEYFLARE_LEAK_REPORT_KEYS"))
        }
    }

    @Test func theKeysSettingIsCheckedAtStart() throws {
        #expect(throws: ConfigurationError.self) { try LeakReportKeys(configured: #"{"public_keys": []}"#) }
        #expect(throws: ConfigurationError.self) { try LeakReportKeys(configured: #"{"public_keys": [{"key_identifier": "a", "key": "nope"}]}"#) }
        #expect(throws: ConfigurationError.self) { try LeakReportKeys(configured: "/no/such/file.json") }
        let key = P256.Signing.PrivateKey()
        let keys = try LeakReportKeys(configured: try Self.keysDocument(key))
        #expect(keys.keys.count == 1)
    }
}
