import Foundation
import KeyflareStore
import PQ
import Testing

@testable import KeyflareTestSupport

/// The one SQLSTATE mapping of the storage target, against the errors a real server raises.
@Suite struct SQLConditionTests {
    @Test func eachConditionIsWhatTheServerSays() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let cases: [(String, SQLCondition)] = [
            ("CREATE TEMP TABLE u (a int PRIMARY KEY); INSERT INTO u VALUES (1), (1)", .uniqueViolation),
            ("CREATE TEMP TABLE p (a int PRIMARY KEY); CREATE TEMP TABLE c (a int REFERENCES p); INSERT INTO c VALUES (1)",
             .foreignKeyViolation),
            ("SELECT '{\"a\": \"\\u0000\"}'::jsonb", .unstorableValue),
            ("SELECT 'x'::int", .unstorableValue),
            ("SELECT 2147483647::int + 1", .unstorableValue),
            ("SET statement_timeout = 50; SELECT pg_sleep(2)", .queryCanceled),
            ("SELECT 1/0", .other),
        ]
        for (sql, expected) in cases {
            let connection = try Connection.connect(t.db.url)
            defer { connection.close() }
            do {
                _ = try connection.executeScript(unsafeSQL: sql)
                Issue.record("no error: \(sql)")
            } catch let error as PQError {
                #expect(SQLCondition(sqlState: error.sqlState) == expected, "\(sql): \(error.sqlState ?? "-")")
            }
        }
        // A lock wait that gives up, from a second session.
        let holder = try Connection.connect(t.db.url)
        let waiter = try Connection.connect(t.db.url)
        defer { holder.close(); waiter.close() }
        _ = try holder.executeScript(unsafeSQL: "BEGIN; SELECT pg_advisory_xact_lock(4242)")
        do {
            _ = try waiter.executeScript(unsafeSQL: "BEGIN; SET LOCAL lock_timeout = 50; SELECT pg_advisory_xact_lock(4242)")
            Issue.record("the lock was granted")
        } catch let error as PQError {
            #expect(SQLCondition(sqlState: error.sqlState) == .lockNotAvailable)
        }
    }
}
