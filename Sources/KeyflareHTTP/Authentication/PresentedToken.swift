import HTTPTypes
import Hummingbird

/// Finds the token a request presents, in order of precedence:
/// 1. `Authorization: Bearer <token>` (scheme case-insensitive),
/// 2. `X-API-KEY: <token>`,
/// 3. `?api_key=<token>`.
/// An empty value counts as absent, and so does an `Authorization` header with another scheme.
///
/// This runs on every authenticated request, so it reads bytes: no Foundation trimming (which walks
/// UTF-16), no lowercased copy of the scheme, and the query string is parsed only when neither
/// header holds a token.
enum PresentedToken {
    static let apiKeyHeader = HTTPField.Name("X-API-KEY")!

    static func find(in request: Request) -> String? {
        find(
            authorization: request.headers[.authorization], apiKey: request.headers[apiKeyHeader],
            queryAPIKey: request.uri.queryParameters["api_key"].map(String.init)
        )
    }

    static func find(authorization: String?, apiKey: String?, queryAPIKey: @autoclosure () -> String?) -> String? {
        if let authorization, let value = bearer(authorization) { return value }
        if let apiKey, let value = trimmed(apiKey[...]) { return value }
        if let queryAPIKey = queryAPIKey(), !queryAPIKey.isEmpty { return queryAPIKey }
        return nil
    }

    /// The value of `Bearer <value>`: the scheme in any case, then one or more spaces, the value
    /// without the spaces and tabs around it; nil for another scheme or an empty value.
    static func bearer(_ header: String) -> String? {
        let bytes = header.utf8
        var i = bytes.startIndex
        while i != bytes.endIndex, bytes[i] == UInt8(ascii: " ") { i = bytes.index(after: i) }
        for expected in "bearer".utf8 {
            // `| 0x20` lower-cases an ASCII letter; only `B` and `b` become `b`, and so on.
            guard i != bytes.endIndex, bytes[i] | 0x20 == expected else { return nil }
            i = bytes.index(after: i)
        }
        guard i != bytes.endIndex, bytes[i] == UInt8(ascii: " ") else { return nil }
        return trimmed(header[i...])
    }

    /// `text` without leading and trailing spaces and tabs (HTTP's optional whitespace); nil if empty.
    static func trimmed(_ text: Substring) -> String? {
        let bytes = text.utf8
        var start = bytes.startIndex, end = bytes.endIndex
        func blank(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        while start != end, blank(bytes[start]) { start = bytes.index(after: start) }
        while start != end, blank(bytes[bytes.index(before: end)]) { end = bytes.index(before: end) }
        guard start != end else { return nil }
        return String(text[start..<end])
    }
}
