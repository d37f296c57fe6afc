/// An endpoint's SQL with its `@name` parameters turned into `$n` placeholders.
///
/// This scanner only finds parameters; it is not what keeps an endpoint inside its account (the
/// database role does that). It skips string literals (`'…'`, `E'…'`), quoted identifiers (`"…"`),
/// dollar-quoted strings (`$tag$…$tag$`) and comments, and treats `@` next to another operator
/// character (`@>`, `<@`, `@@`) as an operator, not a parameter.
public struct EndpointSQL: Sendable, Equatable {
    /// The statement with `$1`, `$2`, … in place of `@name`, trailing semicolons removed.
    public let text: String
    /// Parameter names, in order of first appearance; `$n` is `parameters[n - 1]`.
    public let parameters: [String]
    /// Every name the statement could use for a relation, as PostgreSQL would read it: quoted
    /// identifiers exactly, unquoted words with ASCII letters lower-cased. Keywords are in it too;
    /// the sandbox opens views only for the account's sources whose names are here.
    public let names: Set<String>
    /// Where each `$n` stands in `text`, in order: its range of Unicode scalars and its parameter's
    /// index in `parameters`, so that values can be put in their place as literals (`inlining`).
    public let placeholders: [Placeholder]

    /// One `$n` in `text`.
    public struct Placeholder: Sendable, Equatable {
        /// Its Unicode scalars in `text`.
        public let range: Range<Int>
        /// Its parameter's index in `parameters`.
        public let parameter: Int
    }

    /// Longest accepted SQL, in bytes.
    public static let maxLength = 100_000

    /// Scans an endpoint's SQL.
    /// - Parameters:
    ///   - sql: the SQL as the user wrote it.
    public init(parsing sql: String) throws {
        var trimmed = Substring(sql)
        while let last = trimmed.last, last.isWhitespace || last == ";" { trimmed = trimmed.dropLast() }
        while let first = trimmed.first, first.isWhitespace { trimmed = trimmed.dropFirst() }
        guard !trimmed.isEmpty else { throw KeyflareError.unprocessable("sql must not be empty") }
        guard trimmed.utf8.count <= Self.maxLength else {
            throw KeyflareError.unprocessable("sql must be at most \(Self.maxLength) bytes")
        }
        let chars = Array(trimmed.unicodeScalars)
        var out = String.UnicodeScalarView()
        var names: [String] = []
        var positions: [String: Int] = [:]
        var i = 0
        func at(_ j: Int) -> Unicode.Scalar? { j < chars.count ? chars[j] : nil }
        func isIdentStart(_ c: Unicode.Scalar?) -> Bool {
            guard let c else { return false }
            return c == "_" || (c.isASCII && c.properties.isAlphabetic)
        }
        func isIdentPart(_ c: Unicode.Scalar?) -> Bool {
            guard let c else { return false }
            return isIdentStart(c) || ("0"..."9").contains(c)
        }
        var words: Set<String> = []
        var slots: [Placeholder] = []
        // Identifier characters as PostgreSQL's lexer has them: ASCII letters, digits, _ and $, and
        // every non-ASCII character.
        func isWordStart(_ c: Unicode.Scalar) -> Bool { c == "_" || (c.isASCII && c.properties.isAlphabetic) || !c.isASCII }
        func isWordPart(_ c: Unicode.Scalar) -> Bool { isWordStart(c) || ("0"..."9").contains(c) || c == "$" }
        let operatorChars: Set<Unicode.Scalar> = ["+", "-", "*", "/", "<", ">", "=", "~", "!", "@", "#", "%", "^", "&", "|", "`", "?"]
        func copy(until end: Int) {
            while i < end, i < chars.count {
                out.append(chars[i])
                i += 1
            }
        }
        while i < chars.count {
            let c = chars[i]
            if c == "'" || c == "\"" {
                // Quoted literal or identifier; a doubled quote is an escaped quote.
                let quote = c
                // E'…' takes backslash escapes only when the E is a token of its own: in ELSE'…' the
                // E ends a keyword and the string is a plain one, as PostgreSQL's lexer reads it.
                let backslashEscapes = quote == "'" && i > 0 && (chars[i - 1] == "E" || chars[i - 1] == "e")
                    && (i < 2 || !isWordPart(chars[i - 2]))
                var j = i + 1
                while j < chars.count {
                    if backslashEscapes && chars[j] == "\\" {
                        j += 2
                        continue
                    }
                    if chars[j] == quote {
                        if at(j + 1) == quote {
                            j += 2
                            continue
                        }
                        break
                    }
                    j += 1
                }
                if quote == "\"" {
                    var name = String.UnicodeScalarView()
                    var k = i + 1
                    while k < min(j, chars.count) {
                        name.append(chars[k])
                        k += chars[k] == "\"" ? 2 : 1
                    }
                    words.insert(String(name))
                }
                copy(until: j + 1)
            } else if c == "-" && at(i + 1) == "-" {
                var j = i
                while j < chars.count && chars[j] != "\n" { j += 1 }
                copy(until: j)
            } else if c == "/" && at(i + 1) == "*" {
                // Block comments nest in PostgreSQL.
                var depth = 0
                var j = i
                repeat {
                    if chars[j] == "/" && at(j + 1) == "*" {
                        depth += 1
                        j += 2
                    } else if chars[j] == "*" && at(j + 1) == "/" {
                        depth -= 1
                        j += 2
                    } else {
                        j += 1
                    }
                } while depth > 0 && j < chars.count
                copy(until: j)
            } else if c == "$" && (i == 0 || !isWordPart(chars[i - 1])) && (at(i + 1) == "$" || at(i + 1).map(isWordStart) == true) {
                // A dollar-quote opener $tag$ (not $1, which the user may not write anyway); a tag
                // takes letters, digits, _ and any non-ASCII character, as in PostgreSQL.
                var j = i + 1
                while let next = at(j), next != "$", isWordPart(next) { j += 1 }
                if at(j) == "$" {
                    // The closing tag can only start at a '$', and the text between two '$'s is compared
                    // at most once per attempt, so the search is linear in the SQL's length.
                    let tag = chars[i...j]
                    var k = j + 1
                    var closed = false
                    while k + tag.count <= chars.count {
                        if chars[k] == "$", chars[k..<(k + tag.count)].elementsEqual(tag) {
                            closed = true
                            break
                        }
                        k += 1
                    }
                    copy(until: closed ? k + tag.count : chars.count)
                } else {
                    copy(until: i + 1)
                }
            } else if c == "@" && isIdentStart(at(i + 1)) && (i == 0 || !operatorChars.contains(chars[i - 1])) {
                var j = i + 1
                while isIdentPart(at(j)) { j += 1 }
                let name = String(String.UnicodeScalarView(chars[(i + 1)..<j]))
                let index: Int
                if let existing = positions[name] {
                    index = existing
                } else {
                    names.append(name)
                    index = names.count
                    positions[name] = index
                }
                let start = out.count
                out.append(contentsOf: "$\(index)".unicodeScalars)
                slots.append(Placeholder(range: start..<out.count, parameter: index - 1))
                i = j
            } else if c == "$" && i + 1 < chars.count && ("0"..."9").contains(chars[i + 1]) {
                throw KeyflareError.unprocessable("use @name parameters, not positional $n placeholders")
            } else if isWordStart(c) && (i == 0 || !isWordPart(chars[i - 1])) {
                // An unquoted word: PostgreSQL folds its ASCII letters to lower case.
                var j = i
                var word = String.UnicodeScalarView()
                while j < chars.count, isWordPart(chars[j]) {
                    let scalar = chars[j]
                    word.append(("A"..."Z").contains(scalar) ? Unicode.Scalar(scalar.value + 32)! : scalar)
                    j += 1
                }
                words.insert(String(word))
                copy(until: j)
            } else {
                out.append(c)
                i += 1
            }
        }
        text = String(out)
        parameters = names
        self.names = words
        placeholders = slots
    }

    /// The text with each `$n` replaced by `literals[n - 1]` (already quoted for PostgreSQL), for a
    /// statement that takes no bind parameters, such as `CREATE VIEW`.
    /// - Parameters:
    ///   - literals: one quoted literal (or `NULL`) per parameter.
    public func inlining(_ literals: [String]) -> String {
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var at = 0
        for slot in placeholders {
            out.append(contentsOf: scalars[at..<slot.range.lowerBound])
            out.append(contentsOf: literals[slot.parameter].unicodeScalars)
            at = slot.range.upperBound
        }
        out.append(contentsOf: scalars[at...])
        return String(out)
    }
}
