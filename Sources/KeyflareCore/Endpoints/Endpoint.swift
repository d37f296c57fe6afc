import Foundation

/// A saved, parameterised SQL query over an account's sources.
public struct Endpoint: Sendable, Equatable {
    /// Endpoint id.
    public let id: UUID
    /// Owning account.
    public let accountID: UUID
    /// Unique within the account: letters, digits, `.`, `_`, `-`.
    public let name: String
    /// Free text.
    public let description: String
    /// The SQL as written, with `@name` parameters.
    public let sql: String
    /// False when the endpoint answers without a token.
    public let enableAuth: Bool
    /// Most rows returned.
    public let maxLimit: Int
    /// Whether callers may send their own final statement over the SQL's CTEs (`SandboxedQuery`).
    public let sandboxable: Bool
    /// Creation time.
    public let createdAt: Date
    /// Last change.
    public let updatedAt: Date

    /// - Parameters:
    ///   - id: endpoint id.
    ///   - accountID: owner.
    ///   - name: unique name.
    ///   - description: free text.
    ///   - sql: the query.
    ///   - enableAuth: whether a token is needed.
    ///   - maxLimit: row cap.
    ///   - createdAt: creation time.
    ///   - updatedAt: last change.
    ///   - sandboxable: whether callers may query its CTEs with their own statement.
    public init(
        id: UUID, accountID: UUID, name: String, description: String, sql: String, enableAuth: Bool, maxLimit: Int,
        createdAt: Date, updatedAt: Date, sandboxable: Bool = false
    ) {
        self.sandboxable = sandboxable
        self.id = id
        self.accountID = accountID
        self.name = name
        self.description = description
        self.sql = sql
        self.enableAuth = enableAuth
        self.maxLimit = maxLimit
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The parameter names the SQL uses.
    public var parameters: [String] { (try? EndpointSQL(parsing: sql).parameters) ?? [] }

    /// Default row cap.
    public static let defaultMaxLimit = 1000
    /// Accepted row caps.
    public static let maxLimitRange = 1...10_000

    /// Checks an endpoint name.
    /// - Parameters:
    ///   - name: the name as given.
    public static func validateName(_ name: String) throws -> String {
        guard (1...128).contains(name.count),
            name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0)) })
        else {
            throw KeyflareError.unprocessable("endpoint name must be 1 to 128 letters, digits, '.', '_' or '-'")
        }
        return name
    }

    /// Checks a row cap.
    /// - Parameters:
    ///   - limit: the cap as given.
    public static func validateMaxLimit(_ limit: Int) throws -> Int {
        guard maxLimitRange.contains(limit) else {
            throw KeyflareError.unprocessable("max_limit must be from \(maxLimitRange.lowerBound) to \(maxLimitRange.upperBound)")
        }
        return limit
    }
}
