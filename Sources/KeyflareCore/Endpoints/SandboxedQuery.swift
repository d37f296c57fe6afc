/// A sandboxable endpoint's SQL split into its `WITH` clause and its CTEs (Logflare's
/// `sandboxable` endpoints, which Supabase Studio queries with `?sql=`): what a caller's own
/// statement may read.
///
/// The line between the CTEs and everything else is held by PostgreSQL, not by this scanner:
/// `QuerySandbox` turns each CTE into a temporary `security_barrier` view owned by the account's
/// role, moves the source views out of the way, and runs the caller's statement as
/// `keyflare_sandbox_caller`, a role granted SELECT on those views and nothing else. A mistake here
/// can only make a CTE fail to split (a 422 for the endpoint's owner), never let a caller through.
public struct SandboxedQuery: Sendable, Equatable {
    /// `WITH [RECURSIVE] a AS (…), b AS (…)`, as written.
    public let withClause: String
    /// The CTEs' names as PostgreSQL reads them (unquoted ones with ASCII letters lower-cased).
    public let cteNames: [String]

    /// Longest caller statement, in bytes.
    public static let maxCallerLength = 20_000

    /// Most CTEs a sandboxable endpoint may have. Each CTE becomes a temporary view whose body
    /// repeats the whole `WITH` clause (`selecting(_:)`), so every run with a caller's statement
    /// makes PostgreSQL parse and plan O(CTEs × SQL length); this keeps that a small multiple of the
    /// endpoint's own size. Checked when the endpoint is saved and again before each such run, so an
    /// endpoint stored before the limit existed is refused rather than run.
    public static let maxCTEs = 32

    /// Splits an endpoint's SQL; throws unless it is a `WITH …` statement with a final statement.
    /// - Parameters:
    ///   - sql: the endpoint's SQL.
    public init(endpointSQL sql: String) throws {
        var lexer = Lexer(Array(sql.unicodeScalars))
        let notWith = KeyflareError.unprocessable("a sandboxable endpoint's SQL must be a WITH … query (its CTEs are what callers may read)")
        guard lexer.word() == "with" else { throw notWith }
        var names: [String] = []
        var end = 0
        if lexer.peekWord() == "recursive" { _ = lexer.word() }
        while true {
            guard let name = lexer.name() else { throw notWith }
            // Refused at the first CTE past the limit: the rest of the SQL is never walked.
            guard names.count < Self.maxCTEs else {
                throw KeyflareError.unprocessable(
                    "a sandboxable endpoint can have at most \(Self.maxCTEs) CTEs (each becomes a view repeating the whole WITH clause) and this one has more; merge some, or make the endpoint not sandboxable")
            }
            names.append(name)
            if lexer.peek() == "(" { try lexer.skipParentheses() }
            guard lexer.word() == "as" else { throw notWith }
            if lexer.peekWord() == "not" { _ = lexer.word() }
            if lexer.peekWord() == "materialized" { _ = lexer.word() }
            guard lexer.peek() == "(" else { throw notWith }
            try lexer.skipParentheses()
            if let word = lexer.peekWord(), word == "search" || word == "cycle" {
                throw KeyflareError.unprocessable("a sandboxable endpoint's CTEs cannot have SEARCH or CYCLE clauses")
            }
            end = lexer.position
            guard lexer.peek() == "," else { break }
            lexer.advance()
        }
        // Something must follow the CTEs (the endpoint's own final statement).
        guard lexer.peek() != nil else { throw notWith }
        withClause = String(String.UnicodeScalarView(lexer.chars[0..<end]))
        cteNames = names
    }

    /// A statement selecting the whole of CTE `index`, with the endpoint's CTEs before it: what the
    /// CTE's view is made of (name resolution inside it is exactly the endpoint's own).
    /// - Parameters:
    ///   - index: the CTE's position in `cteNames`.
    public func selecting(_ index: Int) -> String {
        let quoted = "\"" + cteNames[index].replacingOccurrences(of: "\"", with: "\"\"") + "\""
        return withClause + "\nSELECT * FROM " + quoted
    }

    /// Checks a caller's statement: not empty, not too long, `@name` parameters only.
    /// - Parameters:
    ///   - callerSQL: the caller's statement.
    public static func callerStatement(_ callerSQL: String) throws -> EndpointSQL {
        guard callerSQL.utf8.count <= maxCallerLength else {
            throw KeyflareError.badRequest("sql must be at most \(maxCallerLength) bytes")
        }
        do {
            return try EndpointSQL(parsing: callerSQL)
        } catch KeyflareError.unprocessable(let message) {
            throw KeyflareError.badRequest(message)
        }
    }

    /// Just enough of PostgreSQL's lexer to walk a `WITH` list: words, quoted identifiers, and
    /// parentheses that skip strings, quoted identifiers, dollar quotes and comments.
    struct Lexer {
        let chars: [Unicode.Scalar]
        var position = 0

        init(_ chars: [Unicode.Scalar]) { self.chars = chars }

        func peek() -> Unicode.Scalar? {
            var copy = self
            copy.skipSpace()
            return copy.position < chars.count ? chars[copy.position] : nil
        }

        mutating func advance() {
            skipSpace()
            position += 1
        }

        func peekWord() -> String? {
            var copy = self
            return copy.word()
        }

        /// The next unquoted word, lower-cased; nil (position unchanged) when none is next.
        mutating func word() -> String? {
            skipSpace()
            var end = position
            while end < chars.count, Self.isWordPart(chars[end]), end > position || !("0"..."9").contains(chars[end]) && chars[end] != "$" {
                end += 1
            }
            guard end > position else { return nil }
            let word = String(String.UnicodeScalarView(chars[position..<end].map(Self.folded)))
            position = end
            return word
        }

        /// A name: a word, or a quoted identifier (exactly, `""` as `"`).
        mutating func name() -> String? {
            skipSpace()
            guard position < chars.count, chars[position] == "\"" else { return word() }
            var name = String.UnicodeScalarView()
            var i = position + 1
            while i < chars.count {
                if chars[i] == "\"" {
                    if i + 1 < chars.count, chars[i + 1] == "\"" {
                        name.append("\"")
                        i += 2
                        continue
                    }
                    position = i + 1
                    return String(name)
                }
                name.append(chars[i])
                i += 1
            }
            return nil
        }

        /// From `(` past its matching `)`.
        mutating func skipParentheses() throws {
            skipSpace()
            var depth = 0
            while position < chars.count {
                let c = chars[position]
                switch c {
                case "(":
                    depth += 1
                    position += 1
                case ")":
                    depth -= 1
                    position += 1
                    if depth == 0 { return }
                case "'", "\"":
                    skipQuoted(c)
                case "-" where at(position + 1) == "-", "/" where at(position + 1) == "*":
                    skipSpace()
                case "$" where position == 0 || !Self.isWordPart(chars[position - 1]):
                    skipDollarQuote()
                default:
                    position += 1
                }
            }
            throw KeyflareError.unprocessable("the endpoint's SQL has an unclosed parenthesis")
        }

        func at(_ i: Int) -> Unicode.Scalar? { i < chars.count ? chars[i] : nil }

        /// White space and comments (block comments nest).
        mutating func skipSpace() {
            while position < chars.count {
                let c = chars[position]
                if c.properties.isWhitespace {
                    position += 1
                } else if c == "-", at(position + 1) == "-" {
                    while position < chars.count, chars[position] != "\n" { position += 1 }
                } else if c == "/", at(position + 1) == "*" {
                    var depth = 0
                    repeat {
                        if chars[position] == "/", at(position + 1) == "*" {
                            depth += 1
                            position += 2
                        } else if chars[position] == "*", at(position + 1) == "/" {
                            depth -= 1
                            position += 2
                        } else {
                            position += 1
                        }
                    } while depth > 0 && position < chars.count
                } else {
                    return
                }
            }
        }

        /// A string or quoted identifier from its opening quote; a doubled quote is one quote, and
        /// `E'…'` strings take backslash escapes.
        mutating func skipQuoted(_ quote: Unicode.Scalar) {
            // As PostgreSQL reads it: E'…' only when the E is a token of its own (not ELSE'…').
            let backslashes = quote == "'" && position > 0 && (chars[position - 1] == "E" || chars[position - 1] == "e")
                && (position < 2 || !Self.isWordPart(chars[position - 2]))
            position += 1
            while position < chars.count {
                if backslashes, chars[position] == "\\" {
                    position += 2
                    continue
                }
                if chars[position] == quote {
                    if at(position + 1) == quote {
                        position += 2
                        continue
                    }
                    position += 1
                    return
                }
                position += 1
            }
        }

        /// `$tag$…$tag$` from its first `$` (a tag of letters, digits, _ and non-ASCII characters, not
        /// starting with a digit); a lone `$` is just passed.
        mutating func skipDollarQuote() {
            if let first = at(position + 1), first != "$", !Self.isWordPart(first) || ("0"..."9").contains(first) {
                position += 1
                return
            }
            var j = position + 1
            while j < chars.count, Self.isWordPart(chars[j]), chars[j] != "$" { j += 1 }
            guard j < chars.count, chars[j] == "$" else {
                position += 1
                return
            }
            let tag = chars[position...j]
            var k = j + 1
            while k + tag.count <= chars.count {
                if chars[k] == "$", chars[k..<(k + tag.count)].elementsEqual(tag) {
                    position = k + tag.count
                    return
                }
                k += 1
            }
            position = chars.count
        }

        static func isWordPart(_ c: Unicode.Scalar) -> Bool {
            c == "_" || c == "$" || ("0"..."9").contains(c) || (c.isASCII && c.properties.isAlphabetic) || !c.isASCII
        }

        static func folded(_ c: Unicode.Scalar) -> Unicode.Scalar {
            ("A"..."Z").contains(c) ? Unicode.Scalar(c.value + 32) ?? c : c
        }
    }
}
