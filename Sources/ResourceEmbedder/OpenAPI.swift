import Foundation
import Yams

/// `OpenAPIDocument.json`: the repository's `openapi.yaml` converted to JSON, so the server can serve
/// it at `/api/openapi.json` without a YAML parser (or the file) at run time.
func embedOpenAPI(file: String) -> String {
    let node: Node
    do {
        guard let composed = try Yams.compose(yaml: readUTF8(file)) else { fail("\(file) is empty") }
        node = composed
    } catch {
        fail("\(file) is not valid YAML: \(error)")
    }
    let json: Data
    do {
        json = try JSONSerialization.data(withJSONObject: plain(node, at: "$"), options: [.sortedKeys, .withoutEscapingSlashes])
    } catch {
        fail("\(file) cannot be written as JSON: \(error)")
    }
    return """
        // Generated at build time by the EmbedOpenAPI plugin from openapi.yaml. Do not edit.

        /// The API's OpenAPI 3.1 document.
        enum OpenAPIDocument {
            /// The document as compact JSON, keys sorted.
            static let json: String = \(literal(String(decoding: json, as: UTF8.self)))
        }

        """
}

/// A YAML node as JSON-compatible Foundation values. Mapping keys are always strings (so a status
/// code key `200` stays `"200"`, as OpenAPI wants); a plain scalar is typed by YAML 1.2's core
/// schema, and a quoted one is always a string.
func plain(_ node: Node, at path: String) -> Any {
    switch node {
    case .mapping(let mapping):
        var object: [String: Any] = [:]
        for (key, value) in mapping {
            guard let name = key.string else { fail("\(path): a mapping key is not a scalar") }
            guard object[name] == nil else { fail("\(path): the key \(name) appears twice") }
            object[name] = plain(value, at: "\(path).\(name)")
        }
        return object
    case .sequence(let sequence):
        return sequence.enumerated().map { plain($1, at: "\(path)[\($0)]") }
    case .scalar(let scalar):
        guard scalar.style == .plain else { return scalar.string }
        switch node.tag.description {
        case "tag:yaml.org,2002:null": return NSNull()
        case "tag:yaml.org,2002:bool": return node.bool ?? fail("\(path): bad boolean")
        case "tag:yaml.org,2002:int": return node.int ?? fail("\(path): bad integer")
        case "tag:yaml.org,2002:float": return node.float ?? fail("\(path): bad number")
        default: return scalar.string
        }
    case .alias:
        fail("\(path): YAML aliases are not used in openapi.yaml")
    }
}
