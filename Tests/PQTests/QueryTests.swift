import Foundation
import Testing

@testable import PQ

@Suite struct QueryTests {
    @Test func interpolatedValuesBecomeNumberedBinds() {
        let email = "o'brien@example.com"
        let limit = 10
        let query: Query = "SELECT id FROM users WHERE email = \(email) AND age > \(limit) LIMIT \(limit)"
        #expect(query.sql == "SELECT id FROM users WHERE email = $1 AND age > $2 LIMIT $3")
        #expect(query.binds == ["o'brien@example.com", "10", "10"])
    }

    @Test func nilBecomesNull() {
        let missing: String? = nil
        let query: Query = "INSERT INTO t (a, b) VALUES (\(missing), \(true))"
        #expect(query.sql == "INSERT INTO t (a, b) VALUES ($1, $2)")
        #expect(query.binds == [nil, "true"])
    }

    @Test func literalWithoutInterpolationHasNoBinds() {
        let query: Query = "SELECT 1"
        #expect(query.sql == "SELECT 1")
        #expect(query.binds.isEmpty)
    }

    @Test func unsafeSQLIsInsertedVerbatim() {
        let column = "created_at"
        let query: Query = "SELECT * FROM t ORDER BY \(unsafeSQL: column) DESC LIMIT \(5)"
        #expect(query.sql == "SELECT * FROM t ORDER BY created_at DESC LIMIT $1")
        #expect(query.binds == ["5"])
    }

    @Test func injectionAttemptStaysABind() {
        let hostile = "x'); DROP TABLE users; --"
        let query: Query = "SELECT * FROM users WHERE name = \(hostile)"
        #expect(query.sql == "SELECT * FROM users WHERE name = $1")
        #expect(query.binds == [hostile])
    }

    @Test func nestedQueriesAreRenumbered() {
        let filter: Query = "account_id = \(UUID(uuidString: "00000000-0000-0000-0000-000000000001")!) AND name = \("a")"
        var query: Query = "SELECT * FROM sources WHERE id = \(7) AND \(filter)"
        #expect(query.sql == "SELECT * FROM sources WHERE id = $1 AND account_id = $2 AND name = $3")
        #expect(query.binds == ["7", "00000000-0000-0000-0000-000000000001", "a"])
        query.append(" LIMIT \(100)")
        #expect(query.sql.hasSuffix(" LIMIT $4"))
        #expect(query.binds.last == "100")
    }

    @Test func valuesUseTextFormat() {
        let date = Date(timeIntervalSince1970: 1_700_000_000.5)
        let query: Query = "SELECT \(date), \(2.5), \(Int64(-3)), \(["a", "b\"c", "d\\e"])"
        #expect(query.binds == ["2023-11-14 22:13:20.500000+00", "2.5", "-3", #"{"a","b\"c","d\\e"}"#])
    }
}

/// Array literals are built and read by Unicode scalar or byte, never by grapheme cluster.
@Suite struct ArrayLiteralTests {
    static let clustered = ["\"\u{0301}", "\\\u{0301}", "a\u{0600}\"b", "x,\"\u{200D}y}", "NULL", ""]

    @Test func aQuoteOrBackslashInsideAClusterIsEscaped() {
        let literal = Self.clustered.queryText
        #expect(literal.hasPrefix("{\"\\\"\u{0301}\",\"\\\\\u{0301}\","))
        #expect([String](queryText: literal) == Self.clustered)
    }

    @Test func aClusteredQuoteIsReadAsAQuote() {
        // PostgreSQL writes `{"\"́"}` for the one-element array ['"́']: the parser must see the
        // backslash and the quote even though each forms one cluster with its neighbour.
        #expect([String](queryText: "{\"\\\"\u{0301}\",b}") == ["\"\u{0301}", "b"])
        #expect([String](queryText: "{\"a\u{0301}\"}") == ["a\u{0301}"])
        #expect([String](queryText: "{\"unterminated\u{0301}}") == nil)
    }
}

/// A NUL would cut a libpq text parameter short: it is refused before anything is sent.
@Suite struct NULParameterTests {
    @Test func aParameterWithNULIsRefusedNamingItsPosition() {
        #expect(throws: PQError.self) { try Connection.refuseNUL(["fine", nil, "desc\u{0}tail"]) }
        do {
            try Connection.refuseNUL(["ok", "info\u{0}"])
        } catch let error as PQError {
            #expect(error.kind == .invalidParameter)
            #expect(error.message == "parameter $2 contains a NUL character")
        } catch {
            Issue.record("unexpected \(error)")
        }
        #expect(throws: Never.self) { try Connection.refuseNUL(["plain", nil, "ünïcødé 🚀"]) }
    }
}
