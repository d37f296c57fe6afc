import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeyflareCore
import NIOCore
import Testing

@testable import KeyflareHTTP

/// Ingest's routing on the real router over in-memory storage: which source a request names, what
/// reaches the committer, and what never does.
@Suite struct IngestRoutingTests {
    static let events = #"[{"message":"first"},{"message":"second","level":"warn"}]"#

    @Test func theParsedEventsReachTheCommitterWithTheirSource() async throws {
        let api = FakeAPI()
        try await api.app().test(.router) { client in
            let response = try await client.execute(
                uri: "/api/logs?source=\(api.sourceA.id)", method: .post, headers: FakeAPI.bearer(FakeAPI.ingest),
                body: ByteBuffer(string: Self.events))
            #expect(response.status == .ok)
            #expect(String(buffer: response.body) == #"{"message":"Logged!"}"#)
            // By name, on another of the prefixes.
            let named = try await client.execute(
                uri: "/logs?source_name=jobs", method: .post, headers: FakeAPI.bearer(FakeAPI.ingest),
                body: ByteBuffer(string: #"{"message":"one"}"#))
            #expect(named.status == .ok)
        }
        let batches = api.committer.batches
        try #require(batches.count == 2)
        #expect(batches[0].batch.json == Self.events)
        #expect(batches[0].batch.count == 2)
        #expect(batches[0].sourceID == api.sourceA.id)
        #expect(batches[0].accountID == api.accountA.id)
        #expect(batches[1].batch.count == 1)
        #expect(batches[1].sourceID == api.sourceA2.id)
    }

    @Test func aTokenForAnotherSourceIs403AndNothingIsCommitted() async throws {
        let api = FakeAPI()
        try await api.app().test(.router) { client in
            let refused = try await client.execute(
                uri: "/api/logs?source=\(api.sourceA.id)", method: .post, headers: FakeAPI.bearer(FakeAPI.jobsOnly),
                body: ByteBuffer(string: Self.events))
            #expect(refused.status == .forbidden)
            #expect(try jsonObject(refused)["message"] as? String == "this token needs the ingest or ingest:source:\(api.sourceA.id.uuidString.lowercased()) scope")
            // Named in the body instead, the source is still checked before anything is stored.
            let inBody = try await client.execute(
                uri: "/api/logs", method: .post, headers: FakeAPI.bearer(FakeAPI.jobsOnly),
                body: ByteBuffer(string: #"{"source":"\#(api.sourceA.id)","message":"x"}"#))
            #expect(inBody.status == .forbidden)
            // Another account's source is not found, whatever the token.
            let foreign = try await client.execute(
                uri: "/api/logs?source=\(api.sourceB.id)", method: .post, headers: FakeAPI.bearer(FakeAPI.ingest),
                body: ByteBuffer(string: Self.events))
            #expect(foreign.status == .notFound)
            // And with no token, nothing is even resolved.
            let anonymous = try await client.execute(uri: "/api/logs?source=\(api.sourceA.id)", method: .post, body: ByteBuffer(string: Self.events))
            #expect(anonymous.status == .unauthorized)
        }
        #expect(api.committer.batches.isEmpty)
        #expect(api.log.named("committer").isEmpty)
        // The token may ingest where its scope says.
        try await api.app().test(.router) { client in
            let allowed = try await client.execute(
                uri: "/api/logs?source=\(api.sourceA2.id)", method: .post, headers: FakeAPI.bearer(FakeAPI.jobsOnly),
                body: ByteBuffer(string: Self.events))
            #expect(allowed.status == .ok)
        }
        #expect(api.committer.batches.map(\.sourceID) == [api.sourceA2.id])
    }
}
