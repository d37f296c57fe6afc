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
    /// `WWW-Authenticate` on every 401, as RFC 6750 asks.
    public var headers: HTTPFields {
        if case .unauthorized = self { return [.wwwAuthenticate: #"Bearer realm="keyflare""#] }
        return [:]
    }

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
