import Foundation
import Hummingbird
import KeyflareCore

/// Reading JSON request bodies for the management API.
enum RequestBody {
    /// Largest management request body.
    static let maxManagementBytes = 1024 * 1024

    /// Decodes a JSON object body; an empty body decodes as `{}`.
    /// - Parameters:
    ///   - type: the request type.
    ///   - request: the request.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request) async throws -> T {
        let buffer = try await request.body.collect(upTo: maxManagementBytes)
        let data = buffer.readableBytes == 0 ? Data("{}".utf8) : Data(buffer: buffer)
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as KeyflareError {
            throw error
        } catch DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context) {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw KeyflareError.badRequest("\"\(field)\" has the wrong type")
        } catch DecodingError.keyNotFound(let key, _) {
            throw KeyflareError.badRequest("\"\(key.stringValue)\" is required")
        } catch {
            throw KeyflareError.badRequest("the request body is not a valid JSON object")
        }
    }
}

extension Request {
    /// A UUID path parameter; anything that is not a UUID names no resource, so it is a 404.
    /// - Parameters:
    ///   - name: the parameter name.
    ///   - context: the request context.
    ///   - notFound: the 404 to throw.
    func uuidParameter(_ name: String, context: some RequestContext, notFound: KeyflareError) throws -> UUID {
        guard let text = context.parameters.get(name), let id = UUID(uuidString: text) else { throw notFound }
        return id
    }
}
