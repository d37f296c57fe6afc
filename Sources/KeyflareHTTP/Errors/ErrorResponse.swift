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

extension KeyflareError {
    /// The HTTP status for this error.
    var status: HTTPResponse.Status {
        switch self {
        case .badRequest: .badRequest
        case .unauthorized: .unauthorized
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .conflict: .conflict
        case .payloadTooLarge: .contentTooLarge
        case .unprocessable: .unprocessableContent
        case .unavailable: .serviceUnavailable
        }
    }
}
