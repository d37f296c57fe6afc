import Foundation
import HTTPTypes
import HummingbirdTesting
import KeyflareCore
import KeyflareServer
import KeyflareStore
import PQ
import Testing

@testable import KeyflareTestSupport

/// Least-privilege suggestions from real traffic, and applying one: it narrows the token on every
/// instance and can never widen it.
@Suite struct LeastPrivilegeTests {
    @Test func suggestionsComeFromTrafficAndApplyingOneNarrowsEveryInstance() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (account, management) = try await t.account()
        let web = try await t.source("web", account: account)
        let other = try await t.source("batch-jobs", account: account)
        let apps = try (0..<3).map { _ in try t.instance(configure: { $0.usageFlushSeconds = 1 }) }
        try await apps[0].application.test(.router) { one throws in
            try await apps[1].application.test(.router) { two throws in
                try await apps[2].application.test(.router) { three throws in
                    let clients: [any TestClientProtocol] = [one, two, three]
                    func ingest(_ client: any TestClientProtocol, _ secret: String, into source: UUID) async throws -> HTTPResponse.Status {
                        try await client.send("/api/logs?source=\(source)", method: .post, headers: .apiKey(secret), body: #"{"m":1}"#).status
                    }
                    // A private token (management) used only to ingest into `web`, from two instances.
                    let created = try await one.send(
                        "/api/access-tokens", method: .post, headers: .apiKey(management), body: #"{"scopes": ["management"]}"#)
                    let object = try json(created.body)
                    let id = try #require(object["id"] as? String), secret = try #require(object["token"] as? String)
                    for client in [one, two] as [any TestClientProtocol] {
                        for _ in 0..<3 { #expect(try await ingest(client, secret, into: web) == .ok) }
                    }
                    func suggestions() async throws -> [[String: Any]] {
                        let answer = try await three.send("/api/access-tokens/\(id)/suggestions", headers: .apiKey(management))
                        #expect(answer.status == .ok, "\(answer.body)")
                        return (try json(answer.body)["suggestions"] as? [[String: Any]]) ?? []
                    }
                    // The instances flush every second; the suggestion appears once they have.
                    var found: [[String: Any]] = []
                    _ = try await eventually(timeout: .seconds(15), every: .milliseconds(200)) {
                        found = try await suggestions()
                        return !found.isEmpty
                    }
                    let restrict = try #require(found.first { $0["kind"] as? String == "restrict_scopes" }, "\(found)")
                    #expect(restrict["scopes"] as? [String] == ["ingest:source:\(web.uuidString.lowercased())"])
                    #expect((restrict["message"] as? String)?.contains("used only to ingest into `web` in the last 30 days") == true)
                    #expect(restrict["applicable"] as? Bool == true)
                    #expect(found.contains { $0["kind"] as? String == "use_public" && $0["applicable"] as? Bool == false })

                    // Every instance has the token cached with its old scopes.
                    for client in clients { #expect(try await ingest(client, secret, into: other) == .ok) }
                    // The same scopes are no change: refused, nothing recorded.
                    let same = try await two.send(
                        "/api/access-tokens/\(id)/suggestions/apply", method: .post, headers: .apiKey(management), body: #"{"scopes": ["management"]}"#)
                    #expect(same.status == .unprocessableContent, "\(same.body)")
                    let applied = try await two.send(
                        "/api/access-tokens/\(id)/suggestions/apply", method: .post, headers: .apiKey(management),
                        body: #"{"scopes": ["ingest:source:\#(web.uuidString.lowercased())"]}"#)
                    #expect(applied.status == .ok, "\(applied.body)")
                    #expect(try json(applied.body)["scopes"] as? [String] == ["ingest:source:\(web.uuidString.lowercased())"])
                    for client in clients {
                        let narrowed = try await eventually(timeout: .seconds(5)) { try await ingest(client, secret, into: other) == .forbidden }
                        #expect(narrowed != nil, "an instance still lets the token ingest elsewhere")
                        #expect(try await ingest(client, secret, into: web) == .ok)
                        #expect(try await client.send("/api/sources", headers: .apiKey(secret)).status == .forbidden)
                    }
                    // Widening it back is refused, whatever is asked for.
                    for body in [#"{"scopes": ["ingest"]}"#, #"{"scopes": ["management"]}"#, #"{"scopes": ["ingest:source:\#(other.uuidString.lowercased())"]}"#] {
                        let refused = try await one.send(
                            "/api/access-tokens/\(id)/suggestions/apply", method: .post, headers: .apiKey(management), body: body)
                        #expect(refused.status == .unprocessableContent, "\(body): \(refused.body)")
                    }
                    #expect(try await ingest(one, secret, into: other) == .forbidden)
                    // Narrowed to what it uses: nothing more to suggest (but the private prefix).
                    let after = try await suggestions()
                    #expect(!after.contains { $0["kind"] as? String == "restrict_scopes" })
                    let audited = try await t.count("SELECT count(*) AS n FROM audit_events WHERE action = 'token.updated' AND target_id = \(UUID(uuidString: id)!)")
                    #expect(audited == 1, "one change recorded; the refusals recorded nothing")
                }
            }
        }
    }

    @Test func aTokenUnusedFor90DaysIsSuggestedForRevocation() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (account, management) = try await t.account()
        let token = try await t.token([.ingest], account: account)
        try await t.pool.query(
            "UPDATE access_tokens SET created_at = now() - interval '200 days', last_used_at = now() - interval '91 days' WHERE id = \(token.id)")
        try await t.application().test(.router) { client throws in
            let answer = try await client.send("/api/access-tokens/\(token.id)/suggestions", headers: .apiKey(management))
            let list = try json(answer.body)["suggestions"] as? [[String: Any]]
            #expect(list?.count == 1)
            #expect(list?.first?["kind"] as? String == "revoke_unused")
            #expect(list?.first?["message"] as? String == "unused for 90 days: revoke it")
        }
    }

    @Test func narrowingNeverWidens() throws {
        let s = UUID(), e = UUID()
        #expect(Scope.narrows([.ingestSource(s)], [.ingest]))
        #expect(Scope.narrows([.ingestSource(s), .queryEndpoint(e)], [.management]))
        #expect(!Scope.narrows([.ingest], [.ingestSource(s)]))
        #expect(!Scope.narrows([.query], [.ingest]))
        #expect(!Scope.narrows([.ingest], [.ingest]), "the same scopes are no change")
        #expect(!Scope.narrows([], [.ingest]), "a token needs a scope")
    }
}
