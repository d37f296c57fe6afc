/// An error from the PostgreSQL layer.
///
/// `description` is deliberately generic (kind and SQLSTATE only) so that logging an error can never
/// leak a bound parameter, which PostgreSQL may echo back in its message. Full detail, including the
/// server's message fields, is in `debugDescription` and in the stored properties.
public struct PQError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What went wrong, in broad terms.
    public enum Kind: String, Sendable {
        /// The connection string could not be parsed.
        case invalidConninfo
        /// Connecting failed, or an established connection was lost.
        case connection
        /// The server answered with an error (see `sqlState`).
        case server
        /// A column was missing or its text could not be decoded to the requested type.
        case decoding
        /// The pool was closed before the request could be served.
        case poolClosed
        /// Every connection stayed busy for the pool's acquire timeout, or too many were waiting.
        case poolExhausted
        /// A bind parameter holds a NUL character, which a libpq text parameter cannot carry (it would
        /// be cut there); nothing was sent. `message` says which parameter, by position.
        case invalidParameter
        /// libpq or the server answered in a way we did not expect.
        case unexpected
    }

    /// The broad kind of failure.
    public let kind: Kind
    /// The five-character SQLSTATE code, for server errors.
    public let sqlState: String?
    /// Severity as reported by the server (`ERROR`, `FATAL`, ...).
    public let severity: String?
    /// The primary human-readable message. May contain data; never put it in `description`.
    public let message: String
    /// Optional secondary detail from the server. May contain data.
    public let detail: String?
    /// Optional hint from the server.
    public let hint: String?
    /// The constraint involved, if any (useful for mapping 23505 to a conflict).
    public let constraint: String?
    /// The table involved, if any.
    public let table: String?
    /// The column involved, if any.
    public let column: String?
    /// The 1-based character position in the statement that the error points at, if any.
    public let position: Int?

    /// Creates an error. Server errors are normally built from a result by the connection.
    /// - Parameters:
    ///   - kind: the broad kind of failure.
    ///   - message: a message for a person; may contain data, and is never shown in `description`.
    ///   - sqlState: the SQLSTATE, if the server gave one.
    public init(
        _ kind: Kind, message: String, sqlState: String? = nil, severity: String? = nil, detail: String? = nil,
        hint: String? = nil, constraint: String? = nil, table: String? = nil, column: String? = nil,
        position: Int? = nil
    ) {
        self.kind = kind
        self.message = message
        self.sqlState = sqlState
        self.severity = severity
        self.detail = detail
        self.hint = hint
        self.constraint = constraint
        self.table = table
        self.column = column
        self.position = position
    }

    /// True when the SQLSTATE is `23505` (unique_violation).
    public var isUniqueViolation: Bool { sqlState == "23505" }

    /// True when the failure means the database could not be reached (or the connection died).
    public var isConnectionFailure: Bool {
        kind == .connection || kind == .poolClosed || kind == .poolExhausted || (sqlState?.hasPrefix("08") ?? false)
            || sqlState == "57P01" || sqlState == "57P02" || sqlState == "57P03"
    }

    public var description: String {
        if let sqlState { return "PQError(\(kind.rawValue), sqlstate \(sqlState))" }
        return "PQError(\(kind.rawValue))"
    }

    public var debugDescription: String {
        var parts = ["kind: \(kind.rawValue)"]
        if let sqlState { parts.append("sqlstate: \(sqlState)") }
        if let severity { parts.append("severity: \(severity)") }
        parts.append("message: \(message)")
        if let detail { parts.append("detail: \(detail)") }
        if let hint { parts.append("hint: \(hint)") }
        if let constraint { parts.append("constraint: \(constraint)") }
        if let table { parts.append("table: \(table)") }
        if let column { parts.append("column: \(column)") }
        if let position { parts.append("position: \(position)") }
        return "PQError(" + parts.joined(separator: ", ") + ")"
    }
}
