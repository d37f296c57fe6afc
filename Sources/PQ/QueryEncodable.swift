import Foundation

/// A value that can be sent as a text-format bind parameter.
public protocol QueryEncodable: Sendable {
    /// The value in PostgreSQL's text input format.
    var queryText: String { get }
}

extension String: QueryEncodable {
    public var queryText: String { self }
}

extension Substring: QueryEncodable {
    public var queryText: String { String(self) }
}

extension Int: QueryEncodable {
    public var queryText: String { String(self) }
}

extension Int32: QueryEncodable {
    public var queryText: String { String(self) }
}

extension Int64: QueryEncodable {
    public var queryText: String { String(self) }
}

extension Double: QueryEncodable {
    public var queryText: String { String(self) }
}

extension Bool: QueryEncodable {
    public var queryText: String { self ? "true" : "false" }
}

extension UUID: QueryEncodable {
    public var queryText: String { uuidString.lowercased() }
}

extension Date: QueryEncodable {
    public var queryText: String { Timestamp.format(self) }
}

extension Array: QueryEncodable where Element: QueryEncodable {
    /// A PostgreSQL array literal with every element double-quoted and escaped. Escaping walks UTF-8
    /// bytes, not `Character`s: a `"` that forms one grapheme cluster with a following combining mark
    /// is still a quote to PostgreSQL, and must be escaped as one.
    public var queryText: String {
        var out = "{"
        for (i, element) in enumerated() {
            if i > 0 { out += "," }
            out += "\""
            let text = element.queryText
            // Most elements (ids, timestamps, names) need no escaping; only walk those that do.
            if text.utf8.contains(where: { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
                var bytes: [UInt8] = []
                bytes.reserveCapacity(text.utf8.count + 8)
                for byte in text.utf8 {
                    if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { bytes.append(UInt8(ascii: "\\")) }
                    bytes.append(byte)
                }
                out += String(decoding: bytes, as: UTF8.self)
            } else {
                out += text
            }
            out += "\""
        }
        return out + "}"
    }
}
