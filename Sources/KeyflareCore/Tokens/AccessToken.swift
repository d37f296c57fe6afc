import Foundation

/// A token as listed and shown: everything except the secret, which exists only at creation.
public struct AccessToken: Sendable, Equatable {
    /// Token id.
    public let id: UUID
    /// Owning account.
    public let accountID: UUID
    /// Free text from the creator.
    public let description: String
    /// Canonical scopes.
    public let scopes: [Scope]
    /// Last four characters of the secret.
    public let hint: String
    /// Creation time.
    public let createdAt: Date
    /// When it stops working, if ever.
    public let expiresAt: Date?
    /// When it was revoked, if it was.
    public let revokedAt: Date?
    /// When it was last used, if known.
    public let lastUsedAt: Date?

    /// - Parameters:
    ///   - id: token id.
    ///   - accountID: owning account.
    ///   - description: free text.
    ///   - scopes: canonical scopes.
    ///   - hint: last four characters.
    ///   - createdAt: creation time.
    ///   - expiresAt: expiry, if any.
    ///   - revokedAt: revocation time, if any.
    ///   - lastUsedAt: last use, if known.
    public init(
        id: UUID, accountID: UUID, description: String, scopes: [Scope], hint: String, createdAt: Date,
        expiresAt: Date?, revokedAt: Date?, lastUsedAt: Date?
    ) {
        self.id = id
        self.accountID = accountID
        self.description = description
        self.scopes = scopes
        self.hint = hint
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
        self.lastUsedAt = lastUsedAt
    }

    /// Public or private, from the scopes.
    public var kind: TokenKind { TokenKind(scopes: scopes) }

    /// Longest accepted description, in characters.
    public static let maxDescriptionLength = 500
}
