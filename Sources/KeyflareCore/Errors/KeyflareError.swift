/// A failure a client can act on. The HTTP layer turns each case into its status and a JSON body
/// `{"error": <reason phrase>, "message": <message>}`. Messages are written for a person and never
/// contain secrets.
public enum KeyflareError: Error, Sendable, Equatable {
    /// 400: the request is malformed.
    case badRequest(String)
    /// 401: no valid credentials.
    case unauthorized(String)
    /// 403: valid credentials that do not allow this.
    case forbidden(String)
    /// 404: no such resource (or not one this caller may know about).
    case notFound(String)
    /// 408: the work took longer than it may.
    case requestTimeout(String)
    /// 409: the change conflicts with existing state (a duplicate name, say).
    case conflict(String)
    /// 413: the request body or batch is too large.
    case payloadTooLarge(String)
    /// 415: a body encoding or type we do not accept.
    case unsupportedMediaType(String)
    /// 429: too many attempts.
    case tooManyRequests(String)
    /// 422: well-formed but invalid values.
    case unprocessable(String)
    /// 503: a dependency (the database) is unavailable.
    case unavailable(String)

    /// The message for a person.
    public var message: String {
        switch self {
        case .badRequest(let m), .unauthorized(let m), .forbidden(let m), .notFound(let m), .requestTimeout(let m), .conflict(let m),
            .payloadTooLarge(let m), .unsupportedMediaType(let m), .tooManyRequests(let m), .unprocessable(let m), .unavailable(let m):
            return m
        }
    }
}
