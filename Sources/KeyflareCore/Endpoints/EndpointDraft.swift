import Foundation

/// The writable fields of an endpoint.
public struct EndpointDraft: Sendable {
    /// Unique name.
    public var name: String
    /// Free text.
    public var description: String
    /// The SQL with `@name` parameters.
    public var sql: String
    /// Whether a token is needed.
    public var enableAuth: Bool
    /// Row cap.
    public var maxLimit: Int
    /// Whether callers may query its CTEs with their own statement (the SQL must be a `WITH …`).
    public var sandboxable: Bool

    /// - Parameters:
    ///   - name: unique name.
    ///   - description: free text.
    ///   - sql: the query.
    ///   - enableAuth: whether a token is needed.
    ///   - maxLimit: row cap.
    ///   - sandboxable: whether callers may query its CTEs.
    public init(name: String, description: String, sql: String, enableAuth: Bool, maxLimit: Int, sandboxable: Bool = false) {
        self.sandboxable = sandboxable
        self.name = name
        self.description = description
        self.sql = sql
        self.enableAuth = enableAuth
        self.maxLimit = maxLimit
    }
}
