import Foundation

/// What a token may do. Stored and returned in canonical text form.
public enum Scope: Sendable, Hashable, CustomStringConvertible {
    /// Send events into any source of the account.
    case ingest
    /// Send events into one source.
    case ingestSource(UUID)
    /// Run any query endpoint of the account.
    case query
    /// Run one query endpoint.
    case queryEndpoint(UUID)
    /// Everything, including the management API.
    case management

    /// Parses one scope, accepting Logflare's aliases: `private` means `management`, `public` means
    /// `ingest`.
    /// - Parameters:
    ///   - text: the scope as given.
    public init(parsing text: String) throws {
        switch text {
        case "ingest", "public": self = .ingest
        case "query": self = .query
        case "management", "private": self = .management
        default:
            if let id = Self.resource(text, prefix: "ingest:source:") {
                self = .ingestSource(id)
            } else if let id = Self.resource(text, prefix: "query:endpoint:") {
                self = .queryEndpoint(id)
            } else {
                throw KeyflareError.unprocessable("unknown scope \"\(text.prefix(100))\"")
            }
        }
    }

    private static func resource(_ text: String, prefix: String) -> UUID? {
        guard text.hasPrefix(prefix) else { return nil }
        return UUID(uuidString: String(text.dropFirst(prefix.count)))
    }

    /// The canonical text form, as stored.
    public var description: String {
        switch self {
        case .ingest: "ingest"
        case .ingestSource(let id): "ingest:source:\(id.uuidString.lowercased())"
        case .query: "query"
        case .queryEndpoint(let id): "query:endpoint:\(id.uuidString.lowercased())"
        case .management: "management"
        }
    }

    /// Parses a list of scopes, canonicalizes and de-duplicates it, keeping the given order.
    /// - Parameters:
    ///   - texts: scopes as given.
    public static func parseList(_ texts: [String], emptyMeansIngest: Bool = false) throws -> [Scope] {
        var seen = Set<Scope>()
        var scopes: [Scope] = []
        for text in texts {
            let scope = try Scope(parsing: text)
            if seen.insert(scope).inserted { scopes.append(scope) }
        }
        if scopes.isEmpty {
            // An import may take Logflare's meaning for its legacy tokens (none is ingest); anywhere
            // else an empty list is a mistake, and failing open would make an ingest-anywhere token.
            guard emptyMeansIngest else { throw KeyflareError.unprocessable("a token needs at least one scope") }
            return [.ingest]
        }
        return scopes
    }
}
