import Foundation
import PQ
import PQServices
import Testing

@testable import KeyflareTestSupport

@Suite struct PQRoundTripTests {
    @Test func valuesRoundTripUnchanged() async throws {
        let db = try await TestDatabase.empty()
        let pool = db.pool()
        defer { Task { await pool.close() } }
        let samples: [String?] = [
            "it's a \"quoted\" \\ value; DROP TABLE x; --", nil, "", "Grüße, 世界, emoji 🚀, RTL שלום",
            String(repeating: "0123456789abcdef", count: 65_536),  // 1 MiB
        ]
        try await pool.query("CREATE TABLE t (i int PRIMARY KEY, v text)")
        for (i, value) in samples.enumerated() {
            try await pool.query("INSERT INTO t (i, v) VALUES (\(i), \(value))")
        }
        let rows = try await pool.query("SELECT i, v FROM t ORDER BY i").rows
        #expect(rows.count == samples.count)
        for (i, row) in rows.enumerated() {
            let value = try row.decodeIfPresent("v", as: String.self)
            #expect(value == samples[i], "row \(i)")
        }
        #expect(try rows[4].decode("v", as: String.self).utf8.count == 1_048_576)
    }

    /// A quote or backslash that forms one grapheme cluster with a combining mark is still escaped in
    /// the array literal PostgreSQL reads, and read back from the one it writes.
    @Test func arraysWithClusteredQuotesRoundTrip() async throws {
        let db = try await TestDatabase.empty()
        let pool = db.pool()
        defer { Task { await pool.close() } }
        let values = ["\"\u{0301}", "\\\u{0301}", "a\u{0600}\"b", "x,\"\u{200D}y}", "NULL", ""]
        let row = try #require(try await pool.query(
            "SELECT \(values)::text[] AS a, array_length(\(values)::text[], 1) AS n").first)
        #expect(try row.decode("n", as: Int.self) == values.count)
        #expect(try row.decode("a", as: [String].self) == values)
    }

    @Test func typedColumnsDecode() async throws {
        let db = try await TestDatabase.empty()
        let pool = db.pool()
        defer { Task { await pool.close() } }
        let id = UUID()
        let when = Date(timeIntervalSince1970: 1_700_000_000.25)
        let row = try #require(
            try await pool.query(
                """
                SELECT \(id)::uuid AS id, \(when)::timestamptz AS at, \(42)::int8 AS n, \(true)::bool AS b,
                       \(["ingest", "query:endpoint:x"])::text[] AS scopes, NULL::text AS nothing
                """
            ).first
        )
        #expect(try row.decode("id", as: UUID.self) == id)
        #expect(try row.decode("at", as: Date.self) == when)
        #expect(try row.decode("n", as: Int.self) == 42)
        #expect(try row.decode("b", as: Bool.self))
        #expect(try row.decode("scopes", as: [String].self) == ["ingest", "query:endpoint:x"])
        #expect(try row.decodeIfPresent("nothing", as: String.self) == nil)
    }

    @Test func serverErrorsCarrySQLStateAndNoParameterInDescription() async throws {
        let db = try await TestDatabase.empty()
        let pool = db.pool()
        defer { Task { await pool.close() } }
        let secret = "kf_prv_not_a_number_secret"
        do {
            try await pool.query("SELECT \(secret)::int")
            Issue.record("expected an error")
        } catch let error as PQError {
            #expect(error.kind == .server)
            #expect(error.sqlState == "22P02")
            #expect(!error.description.contains(secret))
        }
        try await pool.query("CREATE TABLE u (e text UNIQUE)")
        try await pool.query("INSERT INTO u VALUES (\("a"))")
        do {
            try await pool.query("INSERT INTO u VALUES (\("a"))")
            Issue.record("expected a unique violation")
        } catch let error as PQError {
            #expect(error.isUniqueViolation)
            #expect(error.constraint == "u_e_key")
        }
    }

    @Test func transactionRollsBackOnThrownError() async throws {
        struct Abort: Error {}
        let db = try await TestDatabase.empty()
        let pool = db.pool()
        defer { Task { await pool.close() } }
        try await pool.query("CREATE TABLE t (v text)")
        await #expect(throws: Abort.self) {
            try await pool.withTransaction { connection in
                try connection.execute("INSERT INTO t VALUES (\("lost"))")
                throw Abort()
            }
        }
        _ = try await pool.withTransaction { connection in
            try connection.execute("INSERT INTO t VALUES (\("kept"))")
        }
        let rows = try await pool.query("SELECT v FROM t").rows
        #expect(try rows.map { try $0.decode("v", as: String.self) } == ["kept"])
    }

    @Test func failedConnectThrowsConnectionError() async throws {
        let pool = Pool(configuration: .init(conninfo: "postgresql://nobody@127.0.0.1:1/x"), logger: TestDatabase.quietLogger)
        defer { Task { await pool.close() } }
        await #expect {
            try await pool.query("SELECT 1")
        } throws: { error in
            (error as? PQError)?.isConnectionFailure == true
        }
        #expect(pool.openConnections == 0)
    }
}
