import Foundation

/// A value that can be read from a column in PostgreSQL's text output format.
public protocol QueryDecodable: Sendable {
    /// Parses the column text, or returns nil when it is not a valid value of this type.
    init?(queryText: String)
}

extension String: QueryDecodable {
    public init?(queryText: String) { self = queryText }
}

extension Int: QueryDecodable {
    public init?(queryText: String) { self.init(queryText) }
}

extension Int32: QueryDecodable {
    public init?(queryText: String) { self.init(queryText) }
}

extension Int64: QueryDecodable {
    public init?(queryText: String) { self.init(queryText) }
}

extension Double: QueryDecodable {
    public init?(queryText: String) { self.init(queryText) }
}

extension Bool: QueryDecodable {
    public init?(queryText: String) {
        switch queryText {
        case "t", "true": self = true
        case "f", "false": self = false
        default: return nil
        }
    }
}

extension UUID: QueryDecodable {
    public init?(queryText: String) { self.init(uuidString: queryText) }
}

extension Date: QueryDecodable {
    public init?(queryText: String) {
        guard let date = Timestamp.parse(queryText) else { return nil }
        self = date
    }
}

extension Array: QueryDecodable where Element == String {
    /// Parses a one-dimensional text array literal such as `{a,"b c",NULL}`; NULL elements are dropped.
    /// It walks Unicode scalars, not `Character`s: a quote or backslash followed by a combining mark
    /// is one grapheme cluster, and must still be read as the quote or backslash it is.
    public init?(queryText: String) {
        let scalars = queryText.unicodeScalars
        guard scalars.first == "{", scalars.last == "}" else { return nil }
        var result: [String] = []
        var current = String.UnicodeScalarView()
        var quoted = false
        var wasQuoted = false
        var escaped = false
        func finish() {
            let text = String(current)
            if wasQuoted || text != "NULL" { result.append(text) }
        }
        for scalar in scalars.dropFirst().dropLast() {
            if escaped {
                current.append(scalar)
                escaped = false
            } else if scalar == "\\" {
                escaped = true
            } else if scalar == "\"" {
                quoted.toggle()
                wasQuoted = true
            } else if scalar == "," && !quoted {
                finish()
                current = String.UnicodeScalarView()
                wasQuoted = false
            } else {
                current.append(scalar)
            }
        }
        if quoted || escaped { return nil }
        if !current.isEmpty || wasQuoted { finish() }
        self = result
    }
}
