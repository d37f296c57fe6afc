import Foundation

/// What the API's account routes read and change about an account (`GET` and `PATCH /api/account`).
/// Storage implements it; the HTTP layer sees only this.
public protocol AccountManaging: Sendable {
    /// Looks an account up by id.
    /// - Parameters:
    ///   - id: the account id.
    func account(id: UUID) async throws -> Account?

    /// The account's default rate limit, for its tokens that set none.
    /// - Parameters:
    ///   - id: the account id.
    func defaultRateLimit(id: UUID) async throws -> RateLimit?

    /// Sets (or with nil removes) the account's default rate limit and records `account.updated` in
    /// the audit log; a value equal to the one in force changes nothing and records nothing.
    /// - Parameters:
    ///   - limit: the new default.
    ///   - id: the account id.
    ///   - actor: who asked.
    func setDefaultRateLimit(_ limit: RateLimit?, id: UUID, actor: AuditActor) async throws

    /// The account's token lifetime policy, if it has one.
    /// - Parameters:
    ///   - id: the account id.
    func tokenPolicy(id: UUID) async throws -> TokenLifetimePolicy?

    /// Sets (or with nil removes) the token lifetime policy, audited when it changes.
    /// - Parameters:
    ///   - policy: the new policy.
    ///   - id: the account id.
    ///   - actor: who asked.
    func setTokenPolicy(_ policy: TokenLifetimePolicy?, id: UUID, actor: AuditActor) async throws

    /// Live tokens made before the policy that break it, oldest first.
    /// - Parameters:
    ///   - id: the account id.
    ///   - limit: how many ids at most.
    func tokensOverPolicy(id: UUID, limit: Int) async throws -> [UUID]
}
