import Foundation
import KeyflareCore
import PQ
import PQServices

/// Single-tenant installs: a default account created on first start, and tokens with exact,
/// operator-chosen secrets (`KEYFLARE_PUBLIC_ACCESS_TOKEN`, `KEYFLARE_PRIVATE_ACCESS_TOKEN`).
///
/// Seeding is idempotent and safe to run from many instances at once (one transaction under an
/// advisory lock). A changed value revokes the token seeded from the previous one; an unset value
/// leaves an earlier seeded token alone. A value whose token was revoked is refused, so a revoked
/// secret never works again.
public struct SingleTenantSeed: Sendable {
    /// What seeding found or did.
    public struct Outcome: Sendable, Equatable {
        /// The default account.
        public let accountID: UUID
        /// Whether the account was created now.
        public let createdAccount: Bool
        /// Kinds whose token was inserted now.
        public let seeded: Set<TokenKind>
        /// Kinds whose previous seeded token was revoked now, because the value changed.
        public let replaced: Set<TokenKind>
    }

    /// Name of the account created on first start.
    public static let accountName = "default"
    /// Who seeding is recorded as in the audit log.
    static let actor = AuditActor(kind: .operator, id: nil, ip: nil, userAgent: "keyflare-seed")
    /// Serialises seeding across instances starting together.
    static let lockKey: Int64 = 0x6B66_7365_6564  // "kfseed"

    private let pool: Pool

    /// - Parameters:
    ///   - pool: the database.
    public init(pool: Pool) {
        self.pool = pool
    }

    /// The scopes a seeded token of a kind gets: everything for private, ingest and query for public.
    public static func scopes(for kind: TokenKind) -> [Scope] {
        switch kind {
        case .public: [.ingest, .query]
        case .private: [.ingest, .query, .management]
        }
    }

    /// Makes sure the default account exists and holds exactly the given seeded tokens.
    /// - Parameters:
    ///   - tokens: the exact secrets, by kind (already checked against the token format).
    public func run(tokens: [TokenKind: String]) async throws -> Outcome {
        try await pool.withTransaction { connection in
            try AdvisoryLock.take(Self.lockKey, on: connection, purpose: "seeding", timeout: .seconds(10))
            var createdAccount = false
            let accountID: UUID
            if let row = try connection.execute("SELECT account_id FROM single_tenant").first {
                accountID = try row.decode("account_id")
            } else {
                accountID = try connection.execute(
                    "INSERT INTO accounts (name) VALUES (\(Self.accountName)) RETURNING id"
                ).first!.decode("id")
                try connection.execute("INSERT INTO single_tenant (account_id) VALUES (\(accountID))")
                createdAccount = true
            }
            var seeded = Set<TokenKind>()
            var replaced = Set<TokenKind>()
            for kind in [TokenKind.public, .private] {
                guard let secret = tokens[kind] else { continue }
                switch try Self.seed(kind, secret: secret, accountID: accountID, on: connection) {
                case .unchanged: break
                case .inserted: seeded.insert(kind)
                case .replaced: seeded.insert(kind); replaced.insert(kind)
                }
            }
            return Outcome(accountID: accountID, createdAccount: createdAccount, seeded: seeded, replaced: replaced)
        }
    }

    private enum Step { case unchanged, inserted, replaced }

    private static func seed(_ kind: TokenKind, secret: String, accountID: UUID, on connection: Connection) throws -> Step {
        let digest = TokenFormat.digest(of: secret)
        let variable = KeyflareConfiguration.seedVariable(for: kind)
        if let existing = try connection.execute(
            """
            SELECT id, account_id, seeded_as,
                   revoked_at IS NOT NULL OR coalesce(expires_at <= now(), false) AS dead
            FROM access_tokens WHERE token_hash = decode(\(digest.hex), 'hex')
            """
        ).first {
            let live = try existing.decodeIfPresent("seeded_as", as: String.self) == kind.rawValue
                && !existing.decode("dead", as: Bool.self)
                && existing.decode("account_id", as: UUID.self) == accountID
            if live { return .unchanged }
            // Revoked or expired (rolled through the API, say), or a token made some other way: refuse
            // rather than revive or adopt it. The message names the variable, never the value.
            throw ConfigurationError(
                "\(variable) names a token that was revoked, has expired, or was not seeded from it; generate a new one")
        }
        let previous = try connection.execute(
            """
            UPDATE access_tokens SET revoked_at = now()
            WHERE seeded_as = \(kind.rawValue) AND revoked_at IS NULL RETURNING id, account_id
            """
        ).rows
        for row in previous {
            try AuditStore.record(.tokenRevoked, accountID: row.decode("account_id"), actor: actor, targetType: "token",
                                  targetID: row.decode("id"), on: connection)
        }
        _ = try AccessTokenStore.create(
            on: connection, accountID: accountID, description: "seeded from \(variable)", scopes: scopes(for: kind),
            expiresAt: nil, actor: actor, seeded: (secret, kind)
        )
        return previous.isEmpty ? .inserted : .replaced
    }
}
