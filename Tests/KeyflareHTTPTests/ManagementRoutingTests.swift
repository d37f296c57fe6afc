import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeyflareCore
import NIOCore
import Testing

@testable import KeyflareHTTP

/// The rules `ManagementRoutes` and the authenticator apply to every management route, on the real
/// router over in-memory storage: no database, routing only.
@Suite struct ManagementRoutingTests {
    /// Each resource route, with the path of one of account A's resources and one of B's.
    func resources(_ api: FakeAPI) -> [(own: String, others: String)] {
        [
            ("/api/sources/\(api.sourceA.id)", "/api/sources/\(api.sourceB.id)"),
            ("/api/access-tokens/\(api.tokenA.id)", "/api/access-tokens/\(api.tokenB.id)"),
            ("/api/endpoints/\(api.endpointA.id)", "/api/endpoints/\(api.endpointB.id)"),
        ]
    }

    @Test func anotherAccountsResourceAnswersExactlyLikeAMissingOne() async throws {
        let api = FakeAPI()
        try await api.app().test(.router) { client in
            for (own, others) in resources(api) {
                let collection = String(own[..<own.lastIndex(of: "/")!])
                let missing = try await client.execute(uri: "\(collection)/\(UUID())", method: .get, headers: FakeAPI.bearer(FakeAPI.management))
                let foreign = try await client.execute(uri: others, method: .get, headers: FakeAPI.bearer(FakeAPI.management))
                #expect(missing.status == .notFound, "\(collection)")
                #expect(foreign.status == .notFound, "\(others)")
                #expect(String(buffer: foreign.body) == String(buffer: missing.body))
                // Not a UUID at all names nothing either.
                let malformed = try await client.execute(uri: "\(collection)/nope", method: .get, headers: FakeAPI.bearer(FakeAPI.management))
                #expect(malformed.status == .notFound)
                #expect(String(buffer: malformed.body) == String(buffer: missing.body))
            }
            let deleted = try await client.execute(uri: "/api/sources/\(api.sourceB.id)", method: .delete, headers: FakeAPI.bearer(FakeAPI.management))
            #expect(deleted.status == .notFound)
        }
        #expect(api.log.named("sources.delete").isEmpty)
        #expect(try await api.sources.find(id: api.sourceB.id, accountID: api.accountB.id) != nil)
    }

    @Test func aTokenWithoutManagementIs403OnAnExistingResourceAnd404OnAnyOther() async throws {
        let api = FakeAPI()
        try await api.app().test(.router) { client in
            for (own, others) in resources(api) {
                let mine = try await client.execute(uri: own, method: .get, headers: FakeAPI.bearer(FakeAPI.ingest))
                #expect(mine.status == .forbidden, "\(own)")
                #expect(try jsonObject(mine)["message"] as? String == "this token lacks the management scope needed here")
                let foreign = try await client.execute(uri: others, method: .get, headers: FakeAPI.bearer(FakeAPI.ingest))
                #expect(foreign.status == .notFound, "\(others)")
            }
            let renamed = try await client.execute(
                uri: "/api/sources/\(api.sourceA.id)", method: .patch, headers: FakeAPI.bearer(FakeAPI.ingest),
                body: ByteBuffer(string: #"{"name":"taken-over"}"#))
            #expect(renamed.status == .forbidden)
        }
        #expect(api.log.named("sources.rename").isEmpty)
        #expect(try await api.sources.find(id: api.sourceA.id, accountID: api.accountA.id)?.name == "web")
    }

    @Test func collectionRoutesCheckTheScopeBeforeAnythingElse() async throws {
        let api = FakeAPI()
        try await api.app().test(.router) { client in
            for (uri, method) in [
                ("/api/sources", HTTPRequest.Method.get), ("/api/access-tokens", .get), ("/api/endpoints", .get),
                ("/api/audit-events", .get), ("/api/account", .get), ("/api/account", .patch),
            ] {
                let response = try await client.execute(uri: uri, method: method, headers: FakeAPI.bearer(FakeAPI.ingest))
                #expect(response.status == .forbidden, "\(method) \(uri)")
            }
            // A body the route would refuse is never read: the scope answers first.
            for uri in ["/api/sources", "/api/access-tokens", "/api/endpoints"] {
                let response = try await client.execute(
                    uri: uri, method: .post, headers: FakeAPI.bearer(FakeAPI.ingest), body: ByteBuffer(string: "{not json"))
                #expect(response.status == .forbidden, "POST \(uri)")
            }
        }
        #expect(api.log.all.isEmpty)
    }

    @Test func anUnknownQueryParameterIs422BeforeAnyLookup() async throws {
        let api = FakeAPI()
        try await api.app().test(.router) { client in
            let list = try await client.execute(uri: "/api/sources?colour=red", method: .get, headers: FakeAPI.bearer(FakeAPI.management))
            #expect(list.status == .unprocessableContent)
            #expect(try jsonObject(list)["message"] as? String == #"unknown query parameter "colour""#)
            let tokens = try await client.execute(
                uri: "/api/access-tokens?include_revoked=true&limit=5", method: .get, headers: FakeAPI.bearer(FakeAPI.management))
            #expect(tokens.status == .unprocessableContent)
            let one = try await client.execute(uri: "/api/sources/\(api.sourceA.id)?x=1", method: .get, headers: FakeAPI.bearer(FakeAPI.ingest))
            #expect(one.status == .unprocessableContent)
        }
        #expect(api.log.all.isEmpty)
        // The parameters a route names, and api_key, are accepted.
        try await api.app().test(.router) { client in
            let named = try await client.execute(
                uri: "/api/access-tokens?include_revoked=true", method: .get, headers: FakeAPI.bearer(FakeAPI.management))
            #expect(named.status == .ok)
            let keyed = try await client.execute(uri: "/api/sources?api_key=\(FakeAPI.management)", method: .get)
            #expect(keyed.status == .ok)
        }
    }

    @Test func noTokenIs401AndAnUnknownOneToo() async throws {
        let api = FakeAPI()
        try await api.app().test(.router) { client in
            let missing = try await client.execute(uri: "/api/sources", method: .get)
            #expect(missing.status == .unauthorized)
            #expect(missing.headers[.wwwAuthenticate] == #"Bearer realm="keyflare""#)
            #expect((try jsonObject(missing)["message"] as? String)?.hasPrefix("missing access token") == true)
            let unknown = try await client.execute(uri: "/api/sources/\(api.sourceA.id)", method: .get, headers: FakeAPI.bearer("test-nobody"))
            #expect(unknown.status == .unauthorized)
            #expect(try jsonObject(unknown)["message"] as? String == "unknown access token")
        }
        #expect(api.log.all.isEmpty)
    }

    @Test func aKnownPathWithAnotherMethodIs405NamingTheMethods() async throws {
        let api = FakeAPI()
        try await api.app().test(.router) { client in
            let collection = try await client.execute(uri: "/api/sources", method: .put, headers: FakeAPI.bearer(FakeAPI.management))
            #expect(collection.status == .methodNotAllowed)
            #expect(collection.headers[.allow] == "GET, POST")
            let one = try await client.execute(uri: "/api/sources/\(api.sourceA.id)", method: .put, headers: FakeAPI.bearer(FakeAPI.management))
            #expect(one.status == .methodNotAllowed)
            #expect(one.headers[.allow] == "DELETE, GET, PATCH")
            let unknown = try await client.execute(uri: "/api/nothing-here", method: .put, headers: FakeAPI.bearer(FakeAPI.management))
            #expect(unknown.status == .notFound)
        }
        #expect(api.log.all.isEmpty)
    }

    @Test func aCreatedSourceIsRenderedAsStorageReturnedIt() async throws {
        let api = FakeAPI()
        try await api.app().test(.router) { client in
            let response = try await client.execute(
                uri: "/api/sources", method: .post, headers: FakeAPI.bearer(FakeAPI.management), body: ByteBuffer(string: #"{"name":"api"}"#))
            #expect(response.status == .created)
            #expect(response.headers[.contentType] == "application/json; charset=utf-8")
            let stored = try #require(try await api.sources.find(name: "api", accountID: api.accountA.id))
            let body = try jsonObject(response)
            #expect(Set(body.keys) == ["id", "name", "created_at"])
            #expect(body["id"] as? String == stored.id.uuidString.lowercased())
            #expect(body["name"] as? String == "api")
            #expect(body["created_at"] as? String == RFC3339.format(stored.createdAt))
        }
        #expect(api.log.named("sources.create") == ["sources.create api"])
    }

    @Test func aCreatedTokenCarriesItsSecretOnce() async throws {
        let api = FakeAPI()
        try await api.app().test(.router) { client in
            let response = try await client.execute(
                uri: "/api/access-tokens", method: .post, headers: FakeAPI.bearer(FakeAPI.management),
                body: ByteBuffer(string: #"{"description":"  ci  ","scopes":"ingest query"}"#))
            #expect(response.status == .created)
            let body = try jsonObject(response)
            let idText = try #require(body["id"] as? String)
            let id = try #require(UUID(uuidString: idText))
            let stored = try #require(try await api.tokens.find(id: id, accountID: api.accountA.id))
            #expect(stored.description == "ci")
            #expect(stored.scopes == [.ingest, .query])
            #expect(body["scopes"] as? [String] == ["ingest", "query"])
            #expect(body["type"] as? String == "public")
            let secret = try #require(body["token"] as? String)
            #expect(try await api.tokens.find(digest: TokenFormat.digest(of: secret), accountID: api.accountA.id)?.id == id)
            // Shown afterwards, the token has no secret.
            let shown = try await client.execute(uri: "/api/access-tokens/\(id)", method: .get, headers: FakeAPI.bearer(FakeAPI.management))
            #expect(shown.status == .ok)
            #expect(try jsonObject(shown)["token"] == nil)
        }
    }

    @Test func revokingByTokenStringNeedsManagementBeforeAnyLookup() async throws {
        let api = FakeAPI()
        try await api.app().test(.router) { client in
            let refused = try await client.execute(
                uri: "/api/access-tokens/\(api.tokenASecret)", method: .delete, headers: FakeAPI.bearer(FakeAPI.ingest))
            #expect(refused.status == .forbidden)
            #expect(api.log.named("tokens.").isEmpty)
            // By id, the token is resolved first (404 before 403), and only then refused.
            let byID = try await client.execute(uri: "/api/access-tokens/\(api.tokenA.id)", method: .delete, headers: FakeAPI.bearer(FakeAPI.ingest))
            #expect(byID.status == .forbidden)
            #expect(api.log.named("tokens.") == ["tokens.find id"])
            let revoked = try await client.execute(
                uri: "/api/access-tokens/\(api.tokenASecret)", method: .delete, headers: FakeAPI.bearer(FakeAPI.management))
            #expect(revoked.status == .noContent)
            #expect(api.log.named("tokens.") == ["tokens.find id", "tokens.find digest", "tokens.revoke"])
        }
        #expect(try await api.tokens.find(id: api.tokenA.id, accountID: api.accountA.id)?.revokedAt != nil)
    }
}
