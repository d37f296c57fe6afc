import Foundation

/// An account's access tokens as the management API lists, creates and changes them
/// (`/api/access-tokens`). Every call is scoped by account: another account's token is
/// indistinguishable from a missing one.
public protocol TokenManaging: Sendable {
    /// The account's tokens, oldest first.
    /// - Parameters:
    ///   - accountID: the owner.
    ///   - includeRevoked: whether revoked tokens are listed too.
    func list(accountID: UUID, includeRevoked: Bool) async throws -> [AccessToken]

    /// Creates a token and returns it with its secret, the only time the secret exists outside the
    /// client. Scopes naming a source or endpoint must name one of this account's.
    /// - Parameters:
    ///   - accountID: the owner.
    ///   - description: free text.
    ///   - scopes: canonical scopes.
    ///   - expiresAt: optional expiry, which must be in the future.
    ///   - actor: who is creating it, for the audit log.
    ///   - restrictions: where it may be used from.
    ///   - rateLimit: its own rate limit, if any.
    ///   - canary: true for a canary token, which grants nothing and reports every use.
    func create(
        accountID: UUID, description: String, scopes: [Scope], expiresAt: Date?, actor: AuditActor,
        restrictions: TokenRestrictions, rateLimit: RateLimit?, canary: Bool
    ) async throws -> (AccessToken, String)

    /// One token of the account, or nil (also for another account's token).
    /// - Parameters:
    ///   - id: token id.
    ///   - accountID: the owner.
    func find(id: UUID, accountID: UUID) async throws -> AccessToken?

    /// One token of the account found by its secret (Logflare lets DELETE name the token itself).
    /// - Parameters:
    ///   - digest: SHA-256 of the secret.
    ///   - accountID: the owner.
    func find(digest: TokenDigest, accountID: UUID) async throws -> AccessToken?

    /// Revokes a token of the account; revoking a revoked token keeps its first revocation time.
    /// - Parameters:
    ///   - id: token id.
    ///   - accountID: the owner.
    ///   - actor: who is revoking it, for the audit log.
    ///   - confirmation: a nonce from `RevocationConfirmations.register()` whose marker follows the
    ///     change on the token channel, or nil.
    /// - Returns: false when the account has no such token.
    func revoke(id: UUID, accountID: UUID, actor: AuditActor, confirmation: String?) async throws -> Bool

    /// Changes a token's description, restrictions and rate limit; nil fields stay as they are.
    /// - Parameters:
    ///   - id: token id.
    ///   - accountID: the owner.
    ///   - description: new description.
    ///   - restrictions: new restrictions.
    ///   - rateLimit: new rate limit: `.some(nil)` removes it, nil leaves it.
    ///   - actor: who, for the audit log.
    /// - Returns: the token as it now stands; nil when the account has no such token.
    func update(
        id: UUID, accountID: UUID, description: String?, restrictions: TokenRestrictions?, rateLimit: RateLimit??,
        actor: AuditActor
    ) async throws -> AccessToken?

    /// Disables a token or enables it again; doing what is already done records nothing.
    /// - Parameters:
    ///   - disabled: true to disable, false to enable.
    ///   - id: token id.
    ///   - accountID: the owner.
    ///   - actor: who, for the audit log.
    ///   - confirmation: a nonce whose marker follows the change (see `revoke`), or nil.
    /// - Returns: the token as it now stands; nil when the account has no such token.
    func setDisabled(_ disabled: Bool, id: UUID, accountID: UUID, actor: AuditActor, confirmation: String?) async throws
        -> AccessToken?

    /// Replaces a token: a new one with the same scopes and description, and the old one expiring
    /// after `graceSeconds` (revoked at once when 0).
    /// - Parameters:
    ///   - id: the token to replace.
    ///   - accountID: the owner.
    ///   - graceSeconds: how long the old token keeps working.
    ///   - expiresIn: the new token's lifetime in seconds, or nil to keep the old one's.
    ///   - actor: who is rolling it, for the audit log.
    ///   - confirmation: a nonce whose marker follows the change (see `revoke`), or nil.
    /// - Returns: the new token and its secret, and the old token as it now stands; nil when the
    ///   account has no such token.
    func roll(id: UUID, accountID: UUID, graceSeconds: Int, expiresIn: Int?, actor: AuditActor, confirmation: String?) async throws
        -> (new: AccessToken, secret: String, old: AccessToken)?

    /// Narrows a token's scopes, as a least-privilege suggestion does: 422 if the new scopes would
    /// widen it or change nothing.
    /// - Parameters:
    ///   - id: token id.
    ///   - accountID: the owner.
    ///   - scopes: the narrower scopes.
    ///   - actor: who, for the audit log.
    /// - Returns: the token as it now stands; nil when the account has no such token.
    func narrowScopes(id: UUID, accountID: UUID, to scopes: [Scope], actor: AuditActor) async throws -> AccessToken?
}

extension TokenManaging {
    /// Creates a token that is not a canary.
    public func create(
        accountID: UUID, description: String, scopes: [Scope], expiresAt: Date?, actor: AuditActor,
        restrictions: TokenRestrictions, rateLimit: RateLimit?
    ) async throws -> (AccessToken, String) {
        try await create(
            accountID: accountID, description: description, scopes: scopes, expiresAt: expiresAt, actor: actor,
            restrictions: restrictions, rateLimit: rateLimit, canary: false)
    }
}
