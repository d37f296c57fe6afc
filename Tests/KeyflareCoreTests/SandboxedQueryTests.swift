import KeyflareCore
import Testing

/// Splitting a sandboxable endpoint's SQL, and the ceiling on its CTEs.
@Suite struct SandboxedQueryTests {
    /// `WITH c0 AS (select 0 as n), …, c{count-1} AS (…) select * from c0`.
    static func sql(ctes count: Int, recursive: Bool = false) -> String {
        let ctes = (0..<count).map { "c\($0) as (select \($0) as n)" }.joined(separator: ",\n")
        return "with " + (recursive ? "recursive " : "") + ctes + "\nselect * from c0"
    }

    @Test func thirtyTwoCTEsSplitIntoThirtyTwoNames() throws {
        let split = try SandboxedQuery(endpointSQL: Self.sql(ctes: SandboxedQuery.maxCTEs))
        #expect(SandboxedQuery.maxCTEs == 32)
        #expect(split.cteNames.count == 32)
        #expect(split.cteNames.first == "c0" && split.cteNames.last == "c31")
        #expect(split.selecting(31).hasSuffix("SELECT * FROM \"c31\""))
    }

    @Test func thirtyThreeCTEsAreRefusedNamingTheLimit() throws {
        for sql in [Self.sql(ctes: 33), Self.sql(ctes: 33, recursive: true), Self.sql(ctes: 500)] {
            let error = try #require(throws: KeyflareError.self) { try SandboxedQuery(endpointSQL: sql) }
            guard case .unprocessable(let message) = error else {
                Issue.record("expected a 422, got \(error)")
                continue
            }
            #expect(message.contains("at most 32 CTEs"), "\(message)")
        }
    }

    @Test func theLimitIsCheckedBeforeTheRestOfTheSQLIsRead() throws {
        // The 33rd CTE's body is never looked at: an unclosed parenthesis after it still gets the
        // limit's message, not the parser's.
        let sql = Self.sql(ctes: 32).replacingOccurrences(of: "\nselect * from c0", with: ", c32 as (select (")
        let error = try #require(throws: KeyflareError.self) { try SandboxedQuery(endpointSQL: sql) }
        #expect(error.message.contains("at most 32 CTEs"), "\(error.message)")
    }

    @Test func quotedAndFoldedNamesCountOncePerCTE() throws {
        let split = try SandboxedQuery(endpointSQL: #"WITH "A ""b""" AS (select 1), Logs (x) AS MATERIALIZED (select 2) select 1"#)
        #expect(split.cteNames == ["A \"b\"", "logs"])
    }
}
