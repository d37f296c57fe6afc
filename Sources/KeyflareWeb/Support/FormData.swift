import Foundation
import HTTPTypes
import Hummingbird
import KeyflareCore

/// An `application/x-www-form-urlencoded` body, keeping repeated fields (multi-selects, checkboxes).
struct FormData {
    private var fields: [String: [String]] = [:]

    /// Largest form body accepted.
    static let maxBytes = 256 * 1024

    init(_ text: String) {
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = Self.decode(parts[0])
            let value = parts.count > 1 ? Self.decode(parts[1]) : ""
            fields[key, default: []].append(value)
        }
    }

    /// Reads and parses a request's form body.
    static func read(_ request: Request) async throws -> FormData {
        let buffer = try await request.body.collect(upTo: maxBytes)
        return FormData(String(buffer: buffer))
    }

    /// The first value of a field.
    subscript(_ name: String) -> String? { fields[name]?.first }

    /// Every value of a field.
    func all(_ name: String) -> [String] { fields[name] ?? [] }

    private static func decode(_ text: Substring) -> String {
        let plus = text.replacingOccurrences(of: "+", with: " ")
        return plus.removingPercentEncoding ?? plus
    }
}
