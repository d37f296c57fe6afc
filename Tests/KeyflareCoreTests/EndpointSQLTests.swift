import KeyflareCore
import Testing

/// Parameter scanning is linear in the SQL's length, whatever the SQL holds.
@Suite struct EndpointSQLTests {
    @Test func twelveThousandDistinctParametersAreNumberedInOrder() throws {
        // With a list search per name this was quadratic (12,000 names, 7 x 10^7 comparisons).
        let sql = "select " + (0..<12_000).map { "@p\($0)" }.joined(separator: ",")
        let parsed = try EndpointSQL(parsing: sql)
        #expect(parsed.parameters.count == 12_000)
        #expect(parsed.parameters.last == "p11999")
        #expect(parsed.text.hasSuffix("$12000"))
        let repeated = try EndpointSQL(parsing: "select @a, @b, @a, @b")
        #expect(repeated.text == "select $1, $2, $1, $2")
    }

    @Test func aLongDollarQuoteTagIsMatchedWithoutRescanning() throws {
        // A 20 KB tag and a 48 KB body: comparing the tag at every position was tag x body work.
        let tag = "$" + String(repeating: "t", count: 20_000) + "$"
        let sql = "select " + tag + String(repeating: "@x $t ", count: 8_000) + tag + " as s, @real"
        let parsed = try EndpointSQL(parsing: sql)
        #expect(parsed.parameters == ["real"], "text inside the dollar quote is not a parameter")
        let unclosed = try EndpointSQL(parsing: "select $q$" + String(repeating: "$r$ @y ", count: 10_000))
        #expect(unclosed.parameters.isEmpty)
    }
}

/// The names a statement could use for a relation, as PostgreSQL reads them.
@Suite struct EndpointSQLNamesTests {
    @Test func quotedExactlyUnquotedLowerCasedAndNothingFromStringsOrComments() throws {
        let parsed = try EndpointSQL(parsing: #"SELECT * FROM "My ""Logs""", Web w JOIN façade f ON true WHERE x = 'hidden' /* gone */ -- also gone"#)
        #expect(parsed.names.isSuperset(of: ["My \"Logs\"", "web", "w", "façade", "select", "from", "x"]))
        #expect(!parsed.names.contains("hidden"))
        #expect(!parsed.names.contains("gone"))
        #expect(!parsed.names.contains("Web"))
        let dollar = try EndpointSQL(parsing: "select $q$ inside $q$, @p from e'esc' t")
        #expect(!dollar.names.contains("inside"))
        #expect(!dollar.names.contains("p"), "a parameter is not a name")
        #expect(dollar.names.contains("t"))
    }
}
