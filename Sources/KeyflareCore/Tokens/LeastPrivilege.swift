import Foundation

extension Scope {
    /// Whether a token with this scope may already do everything `other` allows.
    /// - Parameters:
    ///   - other: the narrower scope.
    public func covers(_ other: Scope) -> Bool {
        switch (self, other) {
        case (.management, _): true
        case (.ingest, .ingest), (.ingest, .ingestSource): true
        case (.query, .query), (.query, .queryEndpoint): true
        case (.ingestSource(let a), .ingestSource(let b)): a == b
        case (.queryEndpoint(let a), .queryEndpoint(let b)): a == b
        default: false
        }
    }

    /// Whether `narrower` grants nothing `current` does not, and is not the same set: what a
    /// least-privilege change may set (it never widens).
    /// - Parameters:
    ///   - narrower: the proposed scopes.
    ///   - current: the token's scopes.
    public static func narrows(_ narrower: [Scope], _ current: [Scope]) -> Bool {
        !narrower.isEmpty && Set(narrower) != Set(current)
            && narrower.allSatisfy { new in current.contains { $0.covers(new) } }
    }
}

/// Least-privilege suggestions from what a token was actually used for.
public enum LeastPrivilege {
    /// How far back uses are read.
    public static let windowDays = 30
    /// How long unused before a token is suggested for revocation.
    public static let unusedDays = 90

    /// One suggestion.
    public struct Suggestion: Sendable, Equatable {
        /// What kind.
        public enum Kind: String, Sendable {
            /// Set `scopes`: they cover every use of the window and nothing more. Applicable.
            case restrictScopes = "restrict_scopes"
            /// A private token used only where a public one would do: roll it into one.
            case usePublic = "use_public"
            /// Unused for `unusedDays`: revoke it.
            case revokeUnused = "revoke_unused"
        }

        /// What kind.
        public let kind: Kind
        /// For people: what was seen and what to do.
        public let message: String
        /// For `restrictScopes`, the scopes to set.
        public let scopes: [Scope]?

        /// Whether one click may apply it (only narrowing scope changes).
        public var applicable: Bool { kind == .restrictScopes }
    }

    /// The suggestions for a token, most useful first.
    /// - Parameters:
    ///   - token: the token.
    ///   - uses: its uses over the last `windowDays` days.
    ///   - names: source and endpoint names by id, for the messages.
    ///   - now: the current time.
    public static func suggest(_ token: AccessToken, uses: [TokenUse: Int], names: [UUID: String], now: Date = Date()) -> [Suggestion] {
        guard !token.canary, token.revokedAt == nil else { return [] }
        let last = token.lastUsedAt ?? token.createdAt
        if now.timeIntervalSince(last) >= Double(unusedDays) * 86_400 {
            let since = token.lastUsedAt == nil ? "never used in \(unusedDays) days" : "unused for \(unusedDays) days"
            return [Suggestion(kind: .revokeUnused, message: "\(since): revoke it", scopes: nil)]
        }
        // Only what was seen in full can be narrowed to: a management call, or more distinct uses
        // than a tally keeps, and the token's current scopes are what it needs.
        let seen = uses.filter { $0.value > 0 }.keys
        guard !seen.isEmpty, !seen.contains(.management), !seen.contains(.others) else { return [] }
        var sources: [UUID] = [], endpoints: [UUID] = []
        for use in seen {
            switch use {
            case .ingest(let id): sources.append(id)
            case .query(let id): endpoints.append(id)
            default: break
            }
        }
        func name(_ id: UUID) -> String { "`\(names[id] ?? id.uuidString.lowercased())`" }
        let proposed = sources.sorted { name($0) < name($1) }.map(Scope.ingestSource)
            + endpoints.sorted { name($0) < name($1) }.map(Scope.queryEndpoint)
        var out: [Suggestion] = []
        if Scope.narrows(proposed, token.scopes) {
            var parts: [String] = []
            if !sources.isEmpty { parts.append("to ingest into " + sources.map(name).sorted().joined(separator: ", ")) }
            if !endpoints.isEmpty { parts.append("to query " + endpoints.map(name).sorted().joined(separator: ", ")) }
            out.append(Suggestion(
                kind: .restrictScopes,
                message: "used only \(parts.joined(separator: " and ")) in the last \(windowDays) days: restrict to "
                    + proposed.map(\.description).joined(separator: " "),
                scopes: proposed))
        }
        if token.kind == .private {
            out.append(Suggestion(
                kind: .usePublic,
                message: "private token used only for \(endpoints.isEmpty ? "ingest" : sources.isEmpty ? "queries" : "ingest and queries"): replace it with a public one (a roll keeps its scopes; create a public token with the scopes above and revoke this one)",
                scopes: nil))
        }
        return out
    }
}
