import Foundation
import KeyflareCore
import PQ
import PQServices
import Testing

@testable import KeyflareTestSupport

@Suite struct ReportingTests {
    /// A login role granted keyflare_reporting, and a connection as it.
    func reporter(_ t: TestApp) async throws -> Connection {
        let role = "analyst_" + String(UUID().uuidString.prefix(8)).lowercased()
        let password = UUID().uuidString
        try await t.pool.withConnection { connection in
            let name = try connection.escapeIdentifier(role)
            try connection.executeScript(unsafeSQL: "CREATE ROLE \(name) LOGIN PASSWORD '\(password)'; GRANT keyflare_reporting TO \(name)")
        }
        return try await Task.detached { try Connection.connect(t.db.url, options: [("user", role), ("password", password)]) }.value
    }

    @Test func theReportingRoleReadsEveryViewAndNothingElse() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (accountID, _) = try await t.account()
        let source = try await t.source("web", account: accountID)
        try await t.events([IngestEvent(timestamp: Date(), json: "{}")], source: source, account: accountID)
        let connection = try await reporter(t)
        defer { connection.close() }
        for view in ["access_tokens", "token_usage_daily", "token_usage_hourly", "token_clients_hourly", "audit_events", "sources", "ingest_daily", "instances", "accounts_token_policy", "token_uses_daily", "webhooks", "webhook_deliveries"] {
            #expect(throws: Never.self, "\(view)") { try connection.execute(Query(unsafeSQL: "SELECT * FROM reporting.\(view)")) }
        }
        let tokens = try connection.execute("SELECT * FROM reporting.access_tokens")
        #expect(tokens.rows.count == 1)
        #expect(!tokens.columns.contains("token_hash"))
        #expect(try connection.execute("SELECT event_count FROM reporting.sources").first?.decode("event_count", as: Int.self) == 1)
        for forbidden in [
            "SELECT * FROM access_tokens", "SELECT * FROM users", "SELECT * FROM sandbox_roles", "SELECT * FROM events",
            "DELETE FROM audit_events", "UPDATE access_tokens SET revoked_at = now()",
            "INSERT INTO reporting.audit_events (id) VALUES (gen_random_uuid())", "DELETE FROM reporting.sources",
            "CREATE TABLE reporting.x (a int)",
        ] {
            do {
                try connection.execute(Query(unsafeSQL: forbidden))
                Issue.record("allowed: \(forbidden)")
            } catch let error as PQError {
                #expect(error.sqlState == "42501", "\(forbidden): \(error.debugDescription)")
            }
        }
        let comments = try await t.pool.query(
            """
            SELECT count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'reporting' AND c.relkind = 'v' AND obj_description(c.oid, 'pg_class') IS NOT NULL
            """
        ).first!.decode("n", as: Int.self)
        #expect(comments == 12)
        let uncommented = try await t.pool.query(
            """
            SELECT count(*) AS n FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'reporting' AND a.attnum > 0 AND col_description(c.oid, a.attnum) IS NULL
            """
        ).first!.decode("n", as: Int.self)
        #expect(uncommented == 0, "every reporting column has a comment")
    }

    @Test func theDocumentedExampleQueriesRun() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (accountID, _) = try await t.account()
        _ = try await t.token([.ingest], account: accountID)
        let doc = try String(contentsOf: TestDatabase.repositoryRoot.appendingPathComponent("docs/reporting.md"), encoding: .utf8)
        let blocks = doc.components(separatedBy: "```sql\n").dropFirst().map { $0.components(separatedBy: "```")[0] }
        #expect(blocks.count == 4)
        let connection = try await reporter(t)
        defer { connection.close() }
        for sql in blocks {
            #expect(throws: Never.self, "\(sql)") { try connection.execute(Query(unsafeSQL: sql)) }
        }
    }
}
