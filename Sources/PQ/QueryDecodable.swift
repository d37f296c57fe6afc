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
    public init?(queryText: String) {
        guard queryText.first == "{", queryText.last == "}" else { return nil }
        var result: [String] = []
        var current = ""
        var quoted = false
        var wasQuoted = false
        var escaped = false
        for ch in queryText.dropFirst().dropLast() {
            if escaped {
                current.append(ch)
                escaped = false
            } else if ch == "\\" {
                escaped = true
            } else if ch == "\"" {
                quoted.toggle()
                wasQuoted = true
            } else if ch == "," && !quoted {
                if wasQuoted || current != "NULL" { result.append(current) }
                current = ""
                wasQuoted = false
            } else {
                current.append(ch)
            }
        }
        if quoted || escaped { return nil }
        if !current.isEmpty || wasQuoted {
            if wasQuoted || current != "NULL" { result.append(current) }
        }
        self = result
    }
}
