import Foundation
import HTTPTypes
import Hummingbird
import KeyflareCore

/// Builds JSON responses with Keyflare's encoder settings (RFC 3339 UTC dates, sorted keys).
public enum JSONResponse {
    /// The encoder every API answer (and the CLI's JSON output) uses.
    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(RFC3339.format(date))
        }
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// Encodes `value` as the body of a response.
    /// - Parameters:
    ///   - value: the body.
    ///   - status: the HTTP status.
    ///   - headers: extra headers.
    static func make<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws
        -> Response
    {
        let data = try encoder.encode(value)
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
