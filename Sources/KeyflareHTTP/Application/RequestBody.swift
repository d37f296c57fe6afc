import Foundation
import Hummingbird
import KeyflareCore

/// A management request body whose fields are known: any other field is refused.
protocol RequestFields: Decodable {
    /// The JSON field names the route reads.
    static var fields: Set<String> { get }
}

extension RequestFields where Self: Decodable {
    /// Names from a `CodingKeys` that lists them all.
    static func names<K: CodingKey & CaseIterable>(_ keys: K.Type) -> Set<String> {
        Set(K.allCases.map(\.stringValue))
    }
}

/// Reading JSON request bodies for the management API.
enum RequestBody {
    /// Largest management request body.
    static let maxManagementBytes = 1024 * 1024
    /// Most objects and arrays in one management body, counted before anything is parsed, so a
    /// megabyte of `[[[…` or `{},{},…` cannot make the parser build a million containers.
    static let maxContainers = 1_000

    /// Decodes a JSON object body; an empty body decodes as `{}`. A field the route does not know is
    /// a 422 naming it (a client that sets a restriction Keyflare does not have must never believe
    /// it is set), and so is a string field holding NUL.
    /// - Parameters:
    ///   - type: the request type.
    ///   - request: the request.
    static func decode<T: RequestFields>(_ type: T.Type, from request: Request) async throws -> T {
        let buffer = try await request.body.collect(upTo: maxManagementBytes)
        let data = buffer.readableBytes == 0 ? Data("{}".utf8) : Data(buffer: buffer)
        let containers = data.reduce(0) { $0 + ($1 == UInt8(ascii: "{") || $1 == UInt8(ascii: "[") ? 1 : 0) }
        guard containers <= maxContainers else {
            throw KeyflareError.payloadTooLarge("the body holds more than \(maxContainers) objects and arrays")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw KeyflareError.badRequest("the request body is not a valid JSON object")
        }
        for key in object.keys.sorted() where !T.fields.contains(key) {
            throw KeyflareError.unprocessable("unknown field \"\(QueryString.shown(key))\"")
        }
        for (key, value) in object where containsNUL(value) {
            throw KeyflareError.unprocessable("\"\(key)\" contains a NUL character (\\u0000), which cannot be stored")
        }
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

    private static func containsNUL(_ value: Any) -> Bool {
        switch value {
        case let text as String: text.utf8.contains(0)
        case let list as [Any]: list.contains(where: containsNUL)
        case let object as [String: Any]: object.contains { $0.key.utf8.contains(0) || containsNUL($0.value) }
        default: false
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
