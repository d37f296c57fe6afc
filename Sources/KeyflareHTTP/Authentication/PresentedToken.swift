import HTTPTypes
import Hummingbird

/// Finds the token a request presents, in order of precedence:
/// 1. `Authorization: Bearer <token>` (scheme case-insensitive),
/// 2. `X-API-KEY: <token>`,
/// 3. `?api_key=<token>`.
/// An empty value counts as absent, and so does an `Authorization` header with another scheme.
enum PresentedToken {
    static let apiKeyHeader = HTTPField.Name("X-API-KEY")!

    static func find(in request: Request) -> String? {
        find(
            authorization: request.headers[.authorization], apiKey: request.headers[apiKeyHeader],
            queryAPIKey: request.uri.queryParameters["api_key"].map(String.init)
        )
    }

    static func find(authorization: String?, apiKey: String?, queryAPIKey: String?) -> String? {
        if let authorization {
            let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                let value = parts[1].trimmingCharacters(in: .whitespaces)
                if !value.isEmpty { return value }
            }
        }
        if let apiKey {
            let value = apiKey.trimmingCharacters(in: .whitespaces)
            if !value.isEmpty { return value }
        }
        if let queryAPIKey, !queryAPIKey.isEmpty { return queryAPIKey }
        return nil
    }
}
