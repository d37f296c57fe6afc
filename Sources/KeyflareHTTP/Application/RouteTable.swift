import HTTPTypes
import Hummingbird
import Synchronization

/// Which methods each registered path answers, so a request for a known path with another method is
/// a 405 naming them in `Allow` (RFC 9110 §15.5.6) rather than a 404 that says the path is unknown.
///
/// Loaded once from the finished router (`load(from:)`), after every route, the console's included,
/// is registered; until then every miss stays a 404.
public final class RouteTable: Sendable {
    /// A registered path, split into segments, and its methods.
    struct Entry: Sendable {
        /// `nil` for a capture or a single-segment wildcard; `"**"` for a recursive wildcard.
        let segments: [Substring?]
        let recursive: Bool
        var methods: Set<HTTPRequest.Method>
    }

    private let entries = Mutex<[Entry]>([])

    public init() {}

    /// Reads the router's routes.
    /// - Parameters:
    ///   - router: the router, with every route added.
    public func load<Context>(from router: Router<Context>) {
        load(router.routes.map { (path: $0.path.description, method: $0.method) })
    }

    /// Records paths in Hummingbird's description form (`/api/sources/{id}`, `/console/**`).
    /// - Parameters:
    ///   - routes: each path and one of its methods.
    func load(_ routes: [(path: String, method: HTTPRequest.Method)]) {
        var byPath: [String: Entry] = [:]
        for route in routes {
            let parts = route.path.split(separator: "/")
            let recursive = parts.last == "**"
            let segments = (recursive ? parts.dropLast() : parts[...]).map { part -> Substring? in
                part.hasPrefix("{") || part.hasPrefix(":") || part.contains("*") ? nil : part
            }
            byPath[route.path, default: Entry(segments: segments, recursive: recursive, methods: [])].methods.insert(route.method)
        }
        entries.withLock { $0 = Array(byPath.values) }
    }

    /// The methods the paths matching `path` answer, or an empty set when none matches.
    /// - Parameters:
    ///   - path: a request path.
    func methods(for path: String) -> Set<HTTPRequest.Method> {
        let parts = path.split(separator: "/")
        return entries.withLock { entries in
            entries.reduce(into: Set<HTTPRequest.Method>()) { found, entry in
                guard entry.recursive ? parts.count >= entry.segments.count : parts.count == entry.segments.count else { return }
                for (pattern, part) in zip(entry.segments, parts) where pattern != nil && pattern != part { return }
                found.formUnion(entry.methods)
            }
        }
    }
}
