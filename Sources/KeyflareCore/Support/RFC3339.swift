import Foundation

/// RFC 3339 timestamps in UTC, as the API writes and reads them.
public enum RFC3339 {
    /// Formats a date as `2026-11-29T09:15:09.123Z`.
    /// - Parameters:
    ///   - date: the instant.
    public static func format(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// Parses an RFC 3339 timestamp with or without fractional seconds and with `Z` or an offset.
    /// - Parameters:
    ///   - text: the timestamp.
    public static func parse(_ text: String) -> Date? {
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return date }
        return try? Date.ISO8601FormatStyle().parse(text)
    }
}
