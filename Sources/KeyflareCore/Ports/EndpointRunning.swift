import Foundation

/// Runs a saved query for `/api/endpoints/query/{id or name}`, in the sandbox of the endpoint's
/// account, and answers its rows as JSON text.
public protocol EndpointRunning: Sendable {
    /// Runs an endpoint and returns its rows as a JSON array.
    /// - Parameters:
    ///   - endpoint: the endpoint.
    ///   - values: a value (or nil for NULL) for every parameter the SQL names.
    ///   - callerSQL: a caller's own final statement over a sandboxable endpoint's CTEs.
    func run(_ endpoint: Endpoint, values: [String: String?], callerSQL: String?) async throws -> String
}
