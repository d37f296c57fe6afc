/// A SQL statement and its bind parameters.
///
/// Built by string interpolation, every interpolated value becomes a `$n` placeholder plus a text
/// bind, so values can never change the statement's shape:
///
///     let q: Query = "SELECT id FROM users WHERE email = \(email)"
///     // q.sql == "SELECT id FROM users WHERE email = $1", q.binds == [email]
///
/// A plain `String` cannot become a `Query`; raw SQL must be spelled `Query(unsafeSQL:)` or
/// `\(unsafeSQL: ...)`, so it stands out in review.
public struct Query: Sendable, Hashable, ExpressibleByStringInterpolation {
    /// The statement text, with `$1`, `$2`, ... placeholders.
    public private(set) var sql: String
    /// The parameters in text format, `nil` meaning SQL NULL.
    public private(set) var binds: [String?]

    /// Raw SQL, for statements assembled from trusted pieces (migrations, identifiers escaped by libpq).
    /// - Parameters:
    ///   - unsafeSQL: statement text, used as is.
    ///   - binds: values for any `$n` placeholders it already contains.
    public init(unsafeSQL: String, binds: [String?] = []) {
        self.sql = unsafeSQL
        self.binds = binds
    }

    /// A literal with no interpolation is compile-time text and therefore safe.
    public init(stringLiteral value: String) {
        self.sql = value
        self.binds = []
    }

    public init(stringInterpolation: StringInterpolation) {
        self.sql = stringInterpolation.sql
        self.binds = stringInterpolation.binds
    }

    /// Collects literal text and turns each interpolated value into a placeholder.
    public struct StringInterpolation: StringInterpolationProtocol {
        var sql: String
        var binds: [String?]

        public init(literalCapacity: Int, interpolationCount: Int) {
            sql = ""
            sql.reserveCapacity(literalCapacity + interpolationCount * 3)
            binds = []
            binds.reserveCapacity(interpolationCount)
        }

        public mutating func appendLiteral(_ literal: String) {
            sql += literal
        }

        /// A value, sent as a bind parameter; `nil` is NULL.
        public mutating func appendInterpolation<Value: QueryEncodable>(_ value: Value?) {
            binds.append(value?.queryText)
            sql += "$\(binds.count)"
        }

        /// Raw SQL text, inserted as is. Never pass user input here.
        public mutating func appendInterpolation(unsafeSQL text: String) {
            sql += text
        }

        /// Another query, inlined with its placeholders renumbered after the ones already present.
        public mutating func appendInterpolation(_ query: Query) {
            sql += Query.renumber(query.sql, offset: binds.count)
            binds += query.binds
        }
    }

    /// Appends another query, renumbering its placeholders.
    /// - Parameters:
    ///   - other: the fragment to append.
    public mutating func append(_ other: Query) {
        sql += Query.renumber(other.sql, offset: binds.count)
        binds += other.binds
    }

    /// Shifts every `$n` placeholder by `offset`. Text inside quotes is not special-cased because
    /// fragments built by this type only ever contain placeholders it wrote itself.
    static func renumber(_ sql: String, offset: Int) -> String {
        guard offset > 0, sql.contains("$") else { return sql }
        var out = ""
        out.reserveCapacity(sql.utf8.count + 8)
        var index = sql.startIndex
        while index < sql.endIndex {
            let character = sql[index]
            if character == "$" {
                var digitsEnd = sql.index(after: index)
                while digitsEnd < sql.endIndex, sql[digitsEnd].isASCII, sql[digitsEnd].isNumber {
                    digitsEnd = sql.index(after: digitsEnd)
                }
                if digitsEnd > sql.index(after: index), let n = Int(sql[sql.index(after: index)..<digitsEnd]) {
                    out += "$\(n + offset)"
                    index = digitsEnd
                    continue
                }
            }
            out.append(character)
            index = sql.index(after: index)
        }
        return out
    }
}
