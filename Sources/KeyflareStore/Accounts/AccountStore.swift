import Foundation
import KeyflareCore
import PQ
import PQServices

/// Accounts and their users, in PostgreSQL.
public struct AccountStore: AccountManaging {
    private let pool: Pool

    /// - Parameters:
    ///   - pool: the database.
    public init(pool: Pool) {
        self.pool = pool
    }

    /// Creates an account and its first user in one transaction.
    /// - Parameters:
    ///   - name: account name (validated).
    ///   - email: the user's email (validated, unique case-insensitively).
    ///   - passwordHash: a bcrypt hash, or nil for a user that cannot sign in with a password yet.
    /// - Returns: the account, its user, and the secret of a private `management` token created with it.
    public func create(name: String, email: String, passwordHash: String?) async throws
        -> (account: Account, user: User, managementToken: String)
    {
        let name = try Account.validateName(name)
        let email = try User.validateEmail(email)
        return try await pool.withTransaction { connection in
            let accountRow = try connection.execute(
                "INSERT INTO accounts (name) VALUES (\(name)) RETURNING id, name, created_at"
            ).first!
            let account = Account(
                id: try accountRow.decode("id"), name: try accountRow.decode("name"),
                createdAt: try accountRow.decode("created_at")
            )
            let userRow: Row
            do {
                userRow = try connection.execute(
                    """
                    INSERT INTO users (account_id, email, password_hash)
                    VALUES (\(account.id), \(email), \(passwordHash)) RETURNING id
                    """
                ).first!
            } catch let error as PQError where error.condition == .uniqueViolation {
                throw KeyflareError.conflict("a user with this email already exists")
            }
            let (_, secret) = try AccessTokenStore.create(
                on: connection, accountID: account.id, description: "created with the account",
                scopes: [.management], expiresAt: nil, actor: .operator
            )
            return (account, User(id: try userRow.decode("id"), accountID: account.id, email: email), secret)
        }
    }

    /// Looks an account up by id.
    /// - Parameters:
    ///   - id: the account id.
    public func account(id: UUID) async throws -> Account? {
        guard let row = try await pool.query("SELECT id, name, created_at FROM accounts WHERE id = \(id)").first
        else { return nil }
        return Account(id: try row.decode("id"), name: try row.decode("name"), createdAt: try row.decode("created_at"))
    }

    /// The account's default rate limit, for its tokens that set none.
    /// - Parameters:
    ///   - id: the account id.
    public func defaultRateLimit(id: UUID) async throws -> RateLimit? {
        guard let row = try await pool.query(
            """
            SELECT default_rate_limit_rps AS rate_limit_rps, default_rate_limit_burst AS rate_limit_burst,
                   default_rate_limit_eps AS rate_limit_eps
            FROM accounts WHERE id = \(id)
            """
        ).first else { return nil }
        return try AccessTokenStore.rateLimit(row)
    }

    /// Sets (or with nil removes) the account's default rate limit, recording `account.updated` in
    /// the audit log in the same transaction; every instance's cache drops the account's tokens
    /// within one notification delivery (migration 0022's trigger). A value equal to the one in
    /// force changes nothing and records nothing.
    /// - Parameters:
    ///   - limit: the new default.
    ///   - id: the account id.
    ///   - actor: who asked.
    public func setDefaultRateLimit(_ limit: RateLimit?, id: UUID, actor: AuditActor) async throws {
        try await pool.withTransaction { connection in
            let changed = try connection.execute(
                """
                UPDATE accounts SET default_rate_limit_rps = \(limit?.requestsPerSecond), default_rate_limit_burst = \(limit?.burst),
                    default_rate_limit_eps = \(limit?.eventsPerSecond)
                WHERE id = \(id) AND (default_rate_limit_rps, default_rate_limit_burst, default_rate_limit_eps)
                    IS DISTINCT FROM (\(limit?.requestsPerSecond)::int, \(limit?.burst)::int, \(limit?.eventsPerSecond)::int)
                RETURNING id
                """
            )
            guard !changed.rows.isEmpty else { return }
            try AuditStore.record(.accountUpdated, accountID: id, actor: actor, targetType: "account", targetID: id, on: connection)
        }
    }

    /// The account's token lifetime policy, if it has one.
    /// - Parameters:
    ///   - id: the account id.
    public func tokenPolicy(id: UUID) async throws -> TokenLifetimePolicy? {
        try await pool.withConnection { try Self.tokenPolicy(of: id, on: $0, lock: false) }
    }

    /// The policy, read on a connection (in a token's creating transaction, `lock` takes the account
    /// row FOR SHARE, so a policy set meanwhile waits for the token and then lists it if it breaks it).
    static func tokenPolicy(of id: UUID, on connection: Connection, lock: Bool) throws -> TokenLifetimePolicy? {
        guard let row = try connection.execute(
            Query(unsafeSQL: "SELECT max_token_lifetime_days, token_expiry_required FROM accounts WHERE id = $1" + (lock ? " FOR SHARE" : ""),
                  binds: [id.uuidString])
        ).first else { return nil }
        let days: Int? = try row.decodeIfPresent("max_token_lifetime_days")
        let required: Bool = try row.decode("token_expiry_required")
        guard days != nil || required else { return nil }
        return TokenLifetimePolicy(maxLifetimeDays: days, expiryRequired: required)
    }

    /// Sets (or with nil removes) the account's token lifetime policy, audited as `account.updated`
    /// when it changes. Existing tokens are not touched.
    /// - Parameters:
    ///   - policy: the new policy.
    ///   - id: the account id.
    ///   - actor: who asked.
    public func setTokenPolicy(_ policy: TokenLifetimePolicy?, id: UUID, actor: AuditActor) async throws {
        try await pool.withTransaction { connection in
            let changed = try connection.execute(
                """
                UPDATE accounts SET max_token_lifetime_days = \(policy?.maxLifetimeDays), token_expiry_required = \(policy?.expiryRequired ?? false)
                WHERE id = \(id) AND (max_token_lifetime_days, token_expiry_required)
                    IS DISTINCT FROM (\(policy?.maxLifetimeDays)::int, \(policy?.expiryRequired ?? false))
                RETURNING id
                """
            )
            guard !changed.rows.isEmpty else { return }
            try AuditStore.record(.accountUpdated, accountID: id, actor: actor, targetType: "account", targetID: id, on: connection)
        }
    }

    /// Live tokens (not revoked, not expired) that break the account's policy: no expiry where one
    /// is required, or a lifetime past the limit. At most `limit`, oldest first.
    /// - Parameters:
    ///   - id: the account id.
    ///   - limit: how many ids at most.
    public func tokensOverPolicy(id: UUID, limit: Int = 1_000) async throws -> [UUID] {
        try await pool.query(
            """
            SELECT t.id FROM access_tokens t JOIN accounts a ON a.id = t.account_id
            WHERE t.account_id = \(id) AND t.revoked_at IS NULL AND NOT t.canary AND (t.expires_at IS NULL OR t.expires_at > now())
              AND ((t.expires_at IS NULL AND (a.token_expiry_required OR a.max_token_lifetime_days IS NOT NULL))
                   OR t.expires_at - t.created_at > make_interval(days => a.max_token_lifetime_days))
            ORDER BY t.created_at, t.id LIMIT \(limit)
            """
        ).rows.map { try $0.decode("id", as: UUID.self) }
    }
}
