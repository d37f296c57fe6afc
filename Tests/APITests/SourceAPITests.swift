import Foundation
import HTTPTypes
import HummingbirdTesting
import KeyflareCore
import Testing

@testable import KeyflareTestSupport

@Suite struct SourceAPITests {
    @Test func crudWithConflictsAndValidation() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (_, management) = try await t.account()
        try await t.application().test(.router) { client throws in
            let created = try await client.send("/api/sources", method: .post, headers: .apiKey(management), body: #"{"name":"web"}"#)
            #expect(created.status == .created)
            let id = try #require(json(created.body)["id"] as? String)
            #expect(UUID(uuidString: id) != nil)
            #expect(try await client.send("/api/sources", method: .post, headers: .apiKey(management), body: #"{"name":"web"}"#).status == .conflict)
            #expect(try await client.send("/api/sources", method: .post, headers: .apiKey(management), body: #"{"name":""}"#).status == .unprocessableContent)
            let long = String(repeating: "n", count: 129)
            #expect(try await client.send("/api/sources", method: .post, headers: .apiKey(management), body: #"{"name":"\#(long)"}"#).status == .unprocessableContent)
            #expect(try await client.send("/api/sources", method: .post, headers: .apiKey(management), body: #"{}"#).status == .badRequest)

            try await client.send("/api/sources", method: .post, headers: .apiKey(management), body: #"{"name":"api"}"#)
            let renamed = try await client.send("/api/sources/\(id)", method: .patch, headers: .apiKey(management), body: #"{"name":"frontend"}"#)
            #expect(renamed.status == .ok)
            #expect(try json(renamed.body)["name"] as? String == "frontend")
            #expect(try await client.send("/api/sources/\(id)", method: .patch, headers: .apiKey(management), body: #"{"name":"api"}"#).status == .conflict)

            let list = try jsonArray(try await client.send("/api/sources", headers: .apiKey(management)).body)
            #expect(list.map { $0["name"] as? String } == ["api", "frontend"])
            #expect(try await client.send("/api/sources/\(id)", method: .delete, headers: .apiKey(management)).status == .noContent)
            #expect(try await client.send("/api/sources/\(id)", headers: .apiKey(management)).status == .notFound)
            #expect(try await client.send("/api/sources/not-a-uuid", headers: .apiKey(management)).status == .notFound)
        }
    }

    @Test func deletingASourceDeletesItsEventsAndVoidsOnlyThatScope() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (a, management) = try await t.account()
        let doomed = try await t.source("doomed", account: a)
        let kept = try await t.source("kept", account: a)
        let endpoint = try await t.endpoint("daily", account: a)
        let token = try await t.token([.ingestSource(doomed), .queryEndpoint(endpoint)], account: a)
        try await t.application().test(.router) { client throws in
            #expect(try await client.send("/api/logs?source=\(doomed)", method: .post, headers: .apiKey(token.secret), body: #"{"m":1}"#).status == .ok)
            #expect(try await t.eventCount(source: doomed) == 1)
            #expect(try await client.send("/api/sources/\(doomed)", method: .delete, headers: .apiKey(management)).status == .noContent)
            #expect(try await t.eventCount(source: doomed) == 0)
            // The scope naming the deleted source grants nothing; the token's other scope still works.
            #expect(try await client.send("/api/logs?source=\(doomed)", method: .post, headers: .apiKey(token.secret), body: #"{"m":1}"#).status == .notFound)
            #expect(try await client.send("/api/logs?source=\(kept)", method: .post, headers: .apiKey(token.secret), body: #"{"m":1}"#).status == .forbidden)
            #expect(try await client.send("/api/endpoints/query/\(endpoint)", headers: .apiKey(token.secret)).status == .ok)
            // A source re-created with the same name is a new source; the old scope does not reach it.
            let again = try await client.send("/api/sources", method: .post, headers: .apiKey(management), body: #"{"name":"doomed"}"#)
            let newID = try #require(json(again.body)["id"] as? String)
            #expect(try await client.send("/api/logs?source=\(newID)", method: .post, headers: .apiKey(token.secret), body: #"{"m":1}"#).status == .forbidden)
        }
    }
}
