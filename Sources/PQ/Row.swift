/// The rows and metadata of one statement's result, copied out of libpq's buffer.
public struct QueryResult: Sendable {
    /// Column names, in order.
    public let columns: [String]
    /// The rows.
    public let rows: [Row]
    /// Rows affected by INSERT/UPDATE/DELETE (0 when the command reports none).
    public let affectedRows: Int

    /// The first row, if any.
    public var first: Row? { rows.first }
}

/// One result row, with typed access by column name.
public struct Row: Sendable {
    let columnIndex: ColumnIndex
    /// The raw text values, `nil` meaning NULL.
    public let values: [String?]

    /// The raw text of a column, or nil for NULL or an unknown column.
    public subscript(column: String) -> String? {
        guard let i = columnIndex.position[column] else { return nil }
        return values[i]
    }

    /// Decodes a non-NULL column.
    /// - Parameters:
    ///   - column: the column name.
    ///   - type: the Swift type to decode to.
    public func decode<T: QueryDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        guard let value = try decodeIfPresent(column, as: type) else {
            throw PQError(.decoding, message: "column \"\(column)\" is NULL, expected \(T.self)")
        }
        return value
    }

    /// Decodes a column that may be NULL.
    /// - Parameters:
    ///   - column: the column name.
    ///   - type: the Swift type to decode to.
    public func decodeIfPresent<T: QueryDecodable>(_ column: String, as type: T.Type = T.self) throws -> T? {
        guard let i = columnIndex.position[column] else {
            throw PQError(.decoding, message: "no column named \"\(column)\" in the result")
        }
        guard let text = values[i] else { return nil }
        guard let value = T(queryText: text) else {
            // The value itself is left out on purpose: it may be a secret.
            throw PQError(.decoding, message: "column \"\(column)\" is not a valid \(T.self)")
        }
        return value
    }
}

/// Column name lookup shared by every row of a result.
final class ColumnIndex: Sendable {
    let position: [String: Int]

    init(_ names: [String]) {
        var position: [String: Int] = [:]
        for (i, name) in names.enumerated() where position[name] == nil {
            position[name] = i
        }
        self.position = position
    }
}
