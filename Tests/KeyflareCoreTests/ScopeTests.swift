import Foundation
import KeyflareCore
import Testing

@Suite struct ScopeTests {
    let source = UUID(uuidString: "6F9619FF-8B86-D011-B42D-00C04FC964FF")!
    let endpoint = UUID(uuidString: "00000000-0000-0000-0000-0000000000AA")!

    @Test func aliasesAndCanonicalForms() throws {
        #expect(try Scope(parsing: "public") == .ingest)
        #expect(try Scope(parsing: "private") == .management)
        #expect(try Scope(parsing: "ingest:source:6F9619FF-8B86-D011-B42D-00C04FC964FF").description
                == "ingest:source:6f9619ff-8b86-d011-b42d-00c04fc964ff")
        #expect(try Scope(parsing: "query:endpoint:\(endpoint)") == .queryEndpoint(endpoint))
        #expect(try Scope.parseList(["public", "ingest", "query", "private"]).map(\.description)
                == ["ingest", "query", "management"])
        // Matched exactly, as the API document's pattern says: white space is not trimmed away.
        #expect(throws: KeyflareError.self) { try Scope.parseList([" query "]) }
    }

    @Test func unknownScopesAreNamed() {
        for bad in ["admin", "ingest:source:", "ingest:source:nope", "query:source:\(UUID())", "INGEST", ""] {
            #expect(throws: KeyflareError.self) { try Scope(parsing: bad) }
        }
        #expect(throws: KeyflareError.unprocessable("unknown scope \"admin\"")) { try Scope(parsing: "admin") }
        // An empty list is a mistake, except for an import, which takes Logflare's meaning (ingest).
        #expect(throws: KeyflareError.self) { try Scope.parseList([]) }
        #expect((try? Scope.parseList([], emptyMeansIngest: true)) == [.ingest])
    }

    @Test func permissions() {
        let other = UUID()
        let restricted = VerifiedToken(tokenID: UUID(), accountID: UUID(), scopes: [.ingestSource(source), .queryEndpoint(endpoint)], expiresAt: nil)
        #expect(restricted.canIngest(into: source))
        #expect(!restricted.canIngest(into: other))
        #expect(restricted.canQuery(endpoint: endpoint))
        #expect(!restricted.canQuery(endpoint: other))
        #expect(!restricted.canManage)
        #expect(restricted.kind == .public)
        #expect(throws: KeyflareError.self) { try restricted.requireManagement() }

        let ingest = VerifiedToken(tokenID: UUID(), accountID: UUID(), scopes: [.ingest], expiresAt: nil)
        #expect(ingest.canIngest(into: other))
        #expect(!ingest.canQuery(endpoint: endpoint))

        let management = VerifiedToken(tokenID: UUID(), accountID: UUID(), scopes: [.management], expiresAt: nil)
        #expect(management.canIngest(into: other) && management.canQuery(endpoint: other) && management.canManage)
        #expect(management.kind == .private)
    }
}
