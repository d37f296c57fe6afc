/// Public tokens can never reach the management API and are safe in client-side code; private
/// tokens (those with `management`) must stay on a server.
public enum TokenKind: String, Sendable, Codable {
    /// No `management` scope.
    case `public`
    /// Has `management`.
    case `private`

    /// The kind a set of scopes implies.
    /// - Parameters:
    ///   - scopes: the token's scopes.
    public init(scopes: [Scope]) {
        self = scopes.contains(.management) ? .private : .public
    }

    /// The prefix a token of this kind starts with.
    public var prefix: String {
        switch self {
        case .public: TokenFormat.publicPrefix
        case .private: TokenFormat.privatePrefix
        }
    }
}
