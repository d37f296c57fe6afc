import Hummingbird
import KeyflareCore

/// A request's query string, decoded as browsers and HTTP clients encode it: `+` is a space (HTML
/// forms, `URLSearchParams` and Python's `requests` all write spaces that way) and `%XX` is a byte.
/// Hummingbird's own `queryParameters` leave `+` as it is.
struct QueryString: Sendable {
    /// The decoded pairs, in order; a name may repeat.
    let pairs: [(name: String, value: String)]

    /// Parses raw query text (without the `?`).
    /// - Parameters:
    ///   - raw: the query as sent.
    init(_ raw: Substring) {
        var pairs: [(String, String)] = []
        for part in raw.split(separator: "&", omittingEmptySubsequences: true) {
            let halves = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            pairs.append((Self.decode(halves[0]), halves.count > 1 ? Self.decode(halves[1]) : ""))
        }
        self.pairs = pairs
    }

    /// The request's query string.
    init(_ request: Request) {
        self.init(Substring(request.uri.query ?? ""))
    }

    /// The first value of a name.
    subscript(_ name: String) -> String? { pairs.first { $0.name == name }?.value }

    /// Names the route does not know are a 422, so that a client that sets something Keyflare does
    /// not support is told so instead of believing it took effect. `api_key` is always allowed.
    /// - Parameters:
    ///   - known: the names the route reads.
    func requireOnly(_ known: Set<String>) throws {
        for (name, _) in pairs where name != "api_key" && !known.contains(name) {
            throw KeyflareError.unprocessable("unknown query parameter \"\(Self.shown(name))\"")
        }
    }

    /// A value that may not hold NUL (it would be cut short on its way to PostgreSQL).
    func requireNoNUL() throws {
        for (name, value) in pairs where value.utf8.contains(0) || name.utf8.contains(0) {
            throw KeyflareError.badRequest("query parameter \"\(Self.shown(name))\" contains a NUL character")
        }
    }

    /// A name as it may be shown in a message: at most 64 bytes, NUL removed.
    static func shown(_ name: String) -> String {
        String(String(decoding: name.utf8.filter { $0 != 0 }.prefix(64), as: UTF8.self))
    }

    /// `+` to space, then `%XX` to bytes, by byte; an invalid escape is kept as it is; bytes that do
    /// not form UTF-8 become U+FFFD.
    static func decode(_ text: Substring) -> String {
        func hex(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            if byte == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
                i += 1
            } else if byte == UInt8(ascii: "%"), i + 2 < bytes.count, let high = hex(bytes[i + 1]), let low = hex(bytes[i + 2]) {
                out.append(high << 4 | low)
                i += 3
            } else {
                out.append(byte)
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
