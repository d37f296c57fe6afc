import Foundation
import HTTPTypes
import Hummingbird
import KeyflareCore

/// The one error body Keyflare sends: `{"error": "<HTTP reason phrase>", "message": "<for a person>"}`.
struct ErrorResponse: Encodable {
    let error: String
    let message: String

    /// Renders a JSON error response.
    /// - Parameters:
    ///   - status: the HTTP status.
    ///   - message: what went wrong, for a person.
    ///   - headers: extra headers (for example `WWW-Authenticate`).
    static func response(status: HTTPResponse.Status, message: String, headers: HTTPFields = [:]) -> Response {
        let body = ErrorResponse(error: status.reasonPhrase, message: message)
        // Encoding two strings cannot fail; the fallback only keeps this function non-throwing.
        return (try? JSONResponse.make(body, status: status, headers: headers))
            ?? Response(status: .internalServerError)
    }
}

/// Domain errors render themselves at the HTTP boundary.
extension KeyflareError: HTTPResponseError {
    /// `WWW-Authenticate` on every 401, as RFC 6750 asks; `Retry-After` on every 429 and 503, so a
    /// client that is refused for load or a limit knows when to come back.
    public var headers: HTTPFields {
        switch self {
        case .unauthorized: [.wwwAuthenticate: #"Bearer realm="keyflare""#]
        case .tooManyRequests: [.retryAfter: String(Self.retryAfterLimited)]
        case .unavailable: [.retryAfter: String(Self.retryAfterUnavailable)]
        default: [:]
        }
    }

    /// Seconds a limited client is told to wait (the per-address limits count over a minute).
    static let retryAfterLimited = 60
    /// Seconds an overloaded or database-less instance asks for.
    static let retryAfterUnavailable = 1

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        ErrorResponse.response(status: status, message: message, headers: headers)
    }

    /// The HTTP status for this error.
    public var status: HTTPResponse.Status {
        switch self {
        case .badRequest: .badRequest
        case .unauthorized: .unauthorized
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .requestTimeout: .requestTimeout
        case .conflict: .conflict
        case .payloadTooLarge: .contentTooLarge
        case .unsupportedMediaType: .unsupportedMediaType
        case .tooManyRequests: .tooManyRequests
        case .unprocessable: .unprocessableContent
        case .unavailable: .serviceUnavailable
        }
    }
}
