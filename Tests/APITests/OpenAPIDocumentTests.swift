import Foundation
import HTTPTypes
import HummingbirdTesting
import KeyflareCore
import Testing

@testable import KeyflareTestSupport

/// `openapi.yaml` (served as `/api/openapi.json`) against the router, both ways, and the cases that
/// schemathesis found wrong in the server (scripts/api-fuzz.sh), kept as regressions.
@Suite struct OpenAPIDocumentTests {
    /// The methods OpenAPI names; OPTIONS is answered outside the router (CORS preflights), so it is
    /// checked by sending one.
    static let routedMethods = ["get", "put", "post", "delete", "patch", "head", "trace"]

    @Test func everyRegisteredRouteIsDocumentedAndEveryDocumentedRouteIsRegistered() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let instance = try t.instance()
        // The console is HTML for people, described in the README, not part of the API document.
        let registered = Set(instance.registeredRoutes.filter { route in
            let path = route.split(separator: " ", maxSplits: 1)[1]
            return path != "/" && !path.hasPrefix("/console")
        })
        try await instance.application.test(.router) { client throws in
            let response = try await client.send("/api/openapi.json")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json; charset=utf-8")
            let document = try json(response.body)
            #expect(document["openapi"] as? String == "3.1.0")
            let paths = try #require(document["paths"] as? [String: [String: Any]])
            var documented = Set<String>()
            var preflights: [String] = []
            for (path, item) in paths {
                for method in item.keys where Self.routedMethods.contains(method) {
                    documented.insert("\(method.uppercased()) \(path)")
                }
                if item["options"] != nil { preflights.append(path) }
            }
            let undocumented = registered.subtracting(documented).sorted()
            let unregistered = documented.subtracting(registered).sorted()
            #expect(undocumented.isEmpty, "registered but not in openapi.yaml: \(undocumented)")
            #expect(unregistered.isEmpty, "in openapi.yaml but not registered: \(unregistered)")
            #expect(registered.count >= 25)

            // Each documented preflight is answered, before authentication, as the document says.
            // The browser-callable ingest routes and the endpoint query route.
            #expect(preflights.count == IngestRoute.browserPaths.count + 1)
            for path in preflights {
                let concrete = path.replacingOccurrences(of: "{endpoint}", with: UUID().uuidString)
                let answer = try await client.send(concrete, method: .options)
                #expect(answer.status == .noContent, "OPTIONS \(path)")
                #expect(answer.headers[.accessControlAllowOrigin] == "*", "OPTIONS \(path)")
            }
            // And a path without a documented preflight has none.
            #expect(try await client.send("/api/sources", method: .options).status == .methodNotAllowed)
        }
    }

    /// A known path asked with a method it does not answer: 405 with `Allow`, not a 404 that says the
    /// path does not exist (schemathesis, TRACE on every path).
    @Test func anUnsupportedMethodIs405WithAllow() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (_, management) = try await t.account()
        try await t.application().test(.router) { client throws in
            let trace = try await client.send("/api/sources", method: .init("TRACE")!, headers: .apiKey(management))
            #expect(trace.status == .methodNotAllowed)
            #expect(trace.headers[.allow] == "GET, POST")
            #expect(try json(trace.body)["error"] as? String == "Method Not Allowed")
            // Without a token too: which routes exist is public (this document).
            let put = try await client.send("/api/sources/\(UUID())", method: .put)
            #expect(put.status == .methodNotAllowed)
            #expect(put.headers[.allow] == "DELETE, GET, PATCH")
            // The public routes also answer preflights, so OPTIONS is in their Allow.
            let get = try await client.send("/api/logs", method: .get)
            #expect(get.status == .methodNotAllowed)
            #expect(get.headers[.allow] == "OPTIONS, POST")
            // An unknown path stays a 404.
            #expect(try await client.send("/api/nothing-here", method: .init("TRACE")!).status == .notFound)
        }
    }

    /// Found by schemathesis's negative cases: inputs that broke the document's limits were accepted.
    @Test func inputsOutsideTheDocumentAreRefused() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (account, management) = try await t.account()
        let source = try await t.source("app", account: account)
        try await t.application().test(.router) { client throws in
            func post(_ path: String, _ body: String, headers: HTTPFields = [:]) async throws -> (status: HTTPResponse.Status, headers: HTTPFields, body: String) {
                var fields = HTTPFields.apiKey(management)
                fields.append(contentsOf: headers)
                return try await client.send(path, method: .post, headers: fields, body: body)
            }
            // A malformed X-Source is refused even when ?source= takes precedence over it.
            let xSource = try await post("/api/logs?source=\(source)", #"{"message":"m"}"#, headers: [.init("X-Source")!: "{}"])
            #expect(xSource.status == .badRequest)
            // An unknown query parameter on ingest is refused, as on the management routes.
            let unknown = try await post("/api/logs?source=\(source)&sorce_name=x", #"{"message":"m"}"#)
            #expect(unknown.status == .unprocessableContent)
            #expect(try json(unknown.body)["message"] as? String == #"unknown query parameter "sorce_name""#)
            // Limits count Unicode scalars, as JSON Schema's maxLength does, not grapheme clusters:
            // "e" and 200 combining acute accents is one character on screen and 201 scalars.
            let stacked = "e" + String(repeating: "\u{301}", count: 200)
            #expect(try await post("/api/sources", #"{"name":"\#(stacked)"}"#).status == .unprocessableContent)
            let longDescription = String(repeating: stacked, count: 3)
            #expect(try await post("/api/access-tokens", #"{"description":"\#(longDescription)"}"#).status == .unprocessableContent)
            // A format character (general category Cf) in a source name, astral or not.
            #expect(try await post("/api/sources", #"{"name":"a\u200bb"}"#).status == .unprocessableContent)
            #expect(try await post("/api/sources", "{\"name\":\"a\u{E0020}b\"}").status == .unprocessableContent)
            // A scope is matched exactly: white space around it is not trimmed away.
            #expect(try await post("/api/access-tokens", #"{"scopes":[" ingest"]}"#).status == .unprocessableContent)
            // A lifetime past 100 years.
            #expect(try await post("/api/access-tokens", #"{"expires_in":3153600001}"#).status == .unprocessableContent)
            #expect(try await post("/api/access-tokens", #"{"expires_in":9223372036854775807}"#).status == .unprocessableContent)
            // Nothing above was stored.
            #expect(try await t.count("SELECT count(*) AS n FROM sources WHERE account_id = \(account)") == 1)
            #expect(try await t.count("SELECT count(*) AS n FROM events") == 0)
        }
    }
}
