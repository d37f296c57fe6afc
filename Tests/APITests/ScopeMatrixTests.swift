import Foundation
import HTTPTypes
import HummingbirdTesting
import KeyflareCore
import Testing

@testable import KeyflareTestSupport

/// Every scope kind × every route kind × (own resource, another resource of the same account,
/// another account's resource). 404 comes before 403: a resource outside the token's account is
/// resolved as missing before any scope is checked.
@Suite struct ScopeMatrixTests {
    enum Target: String, CaseIterable {
        case own, otherOwn, otherAccount
    }

    enum RouteKind: String, CaseIterable {
        case ingest, query, management
    }

    enum TokenKind: String, CaseIterable {
        case ingest, ingestOwnSource, query, queryOwnEndpoint, management
    }

    static func expected(_ token: TokenKind, _ route: RouteKind, _ target: Target) -> HTTPResponse.Status {
        if target == .otherAccount { return .notFound }
        switch (route, token) {
        case (.ingest, .ingest), (.ingest, .management): return .ok
        case (.ingest, .ingestOwnSource): return target == .own ? .ok : .forbidden
        case (.ingest, _): return .forbidden
        case (.query, .query), (.query, .management): return .ok
        case (.query, .queryOwnEndpoint): return target == .own ? .ok : .forbidden
        case (.query, _): return .forbidden
        case (.management, .management): return .ok
        case (.management, _): return .forbidden
        }
    }

    @Test func everyScopeOnEveryRouteAndTarget() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (a, _) = try await t.account("Alpha")
        let (b, _) = try await t.account("Beta")
        let sources: [Target: UUID] = [
            .own: try await t.source("own", account: a), .otherOwn: try await t.source("other", account: a),
            .otherAccount: try await t.source("theirs", account: b),
        ]
        let endpoints: [Target: UUID] = [
            .own: try await t.endpoint("own", account: a), .otherOwn: try await t.endpoint("other", account: a),
            .otherAccount: try await t.endpoint("theirs", account: b),
        ]
        var minted: [TokenKind: String] = [:]
        minted[.ingest] = try await t.token([.ingest], account: a).secret
        minted[.ingestOwnSource] = try await t.token([.ingestSource(sources[.own]!)], account: a).secret
        minted[.query] = try await t.token([.query], account: a).secret
        minted[.queryOwnEndpoint] = try await t.token([.queryEndpoint(endpoints[.own]!)], account: a).secret
        minted[.management] = try await t.token([.management], account: a).secret

        let tokens = minted
        try await t.application().test(.router) { client throws in
            var mismatches: [String] = []
            for token in TokenKind.allCases {
                for route in RouteKind.allCases {
                    for target in Target.allCases {
                        let secret = tokens[token]!
                        let status: HTTPResponse.Status
                        switch route {
                        case .ingest:
                            status = try await client.send(
                                "/api/logs?source=\(sources[target]!)", method: .post, headers: .apiKey(secret),
                                body: #"{"message":"m"}"#
                            ).status
                        case .query:
                            status = try await client.send(
                                "/api/endpoints/query/\(endpoints[target]!)", headers: .apiKey(secret)
                            ).status
                        case .management:
                            status = try await client.send("/api/sources/\(sources[target]!)", headers: .apiKey(secret)).status
                        }
                        let want = Self.expected(token, route, target)
                        if status != want {
                            mismatches.append("\(token) \(route) \(target): got \(status.code), want \(want.code)")
                        }
                    }
                }
            }
            #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")

            // Management routes without a resource: 403 for every public token.
            for token in TokenKind.allCases where token != .management {
                #expect(try await client.send("/api/sources", headers: .apiKey(tokens[token]!)).status == .forbidden)
                #expect(try await client.send("/api/access-tokens", headers: .apiKey(tokens[token]!)).status == .forbidden)
                #expect(try await client.send("/api/account", headers: .apiKey(tokens[token]!)).status == .forbidden)
                let forbidden = try await client.send(
                    "/api/access-tokens", method: .post, headers: .apiKey(tokens[token]!), body: "{}"
                )
                #expect(forbidden.status == .forbidden)
                #expect(forbidden.body.contains("management"))
            }
        }
        // Only the allowed ingests stored anything: own source 3 (ingest, own-source, management),
        // the other own source 2 (ingest, management), the other account's none.
        #expect(try await t.eventCount(source: sources[.own]!) == 3)
        #expect(try await t.eventCount(source: sources[.otherOwn]!) == 2)
        #expect(try await t.eventCount(source: sources[.otherAccount]!) == 0)
    }

    @Test func anotherAccountsResourceLooksExactlyLikeAMissingOne() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (a, token) = try await t.account("Alpha")
        let (b, _) = try await t.account("Beta")
        _ = a
        let theirs = try await t.source("theirs", account: b)
        let theirEndpoint = try await t.endpoint("theirs", account: b)
        let theirToken = try await t.token([.ingest], account: b)
        let missing = UUID()
        try await t.application().test(.router) { client throws in
            for (existing, absent) in [
                ("/api/sources/\(theirs)", "/api/sources/\(missing)"),
                ("/api/access-tokens/\(theirToken.id)", "/api/access-tokens/\(missing)"),
                ("/api/endpoints/query/\(theirEndpoint)", "/api/endpoints/query/\(missing)"),
                ("/api/endpoints/query/theirs", "/api/endpoints/query/nonexistent"),
            ] {
                let one = try await client.send(existing, headers: .apiKey(token))
                let two = try await client.send(absent, headers: .apiKey(token))
                #expect(one.status == .notFound)
                #expect(one.body == two.body, "\(existing)")
                #expect(one.headers[.contentLength] == two.headers[.contentLength])
            }
            for method in [HTTPRequest.Method.patch, .delete] {
                let one = try await client.send("/api/sources/\(theirs)", method: method, headers: .apiKey(token), body: #"{"name":"x"}"#)
                let two = try await client.send("/api/sources/\(missing)", method: method, headers: .apiKey(token), body: #"{"name":"x"}"#)
                #expect(one.status == .notFound)
                #expect(one.body == two.body)
            }
            let ingestTheirs = try await client.send("/api/logs?source=\(theirs)", method: .post, headers: .apiKey(token), body: "{}")
            let ingestMissing = try await client.send("/api/logs?source=\(missing)", method: .post, headers: .apiKey(token), body: "{}")
            #expect(ingestTheirs.status == .notFound)
            #expect(ingestTheirs.body == ingestMissing.body)
            let revokeTheirs = try await client.send("/api/access-tokens/\(theirToken.secret)", method: .delete, headers: .apiKey(token))
            #expect(revokeTheirs.status == .notFound)
        }
        // The other account's token still works: nothing was revoked or renamed across accounts.
        let row = try await t.pool.query("SELECT revoked_at FROM access_tokens WHERE id = \(theirToken.id)").first!
        #expect(try row.decodeIfPresent("revoked_at", as: Date.self) == nil)
        #expect(try await t.pool.query("SELECT name FROM sources WHERE id = \(theirs)").first!.decode("name", as: String.self) == "theirs")
    }
}
