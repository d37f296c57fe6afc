import Foundation
import KeyflareCore
import PQ
import PQServices
import Synchronization

/// Access tokens in PostgreSQL. Every query is scoped by account; the secret is never stored.
public struct AccessTokenStore: TokenManaging {
    private let pool: Pool

    /// - Parameters:
    ///   - pool: the database.
    public init(pool: Pool) {
        self.pool = pool
    }

    /// Token columns, read from `access_tokens t`, with today's flushed request count.
    static let columns: Query = """
        t.id, t.account_id, t.description, t.scopes, t.hint, t.created_at, t.expires_at, t.revoked_at, t.last_used_at,
        t.format, t.disabled_at, t.allowed_ips::text[] AS allowed_ips, t.allowed_origins, t.require_origin,
        t.rate_limit_rps, t.rate_limit_burst, t.rate_limit_eps, t.canary, t.rolled_at,
        coalesce((SELECT u.requests FROM token_usage_daily u
                  WHERE u.token_id = t.id AND u.day = (now() AT TIME ZONE 'UTC')::date), 0) AS requests_today
        """
    static let insertedColumns: Query = """
        id, account_id, description, scopes, hint, created_at, expires_at, revoked_at, last_used_at, format,
        disabled_at, allowed_ips::text[] AS allowed_ips, allowed_origins, require_origin,
        rate_limit_rps, rate_limit_burst, rate_limit_eps, canary, rolled_at, 0 AS requests_today
        """

    /// Creates a token and returns it with its secret, the only time the secret exists outside the
    /// client. Scopes naming a source or endpoint must name one of this account's.
    /// - Parameters:
    ///   - accountID: the owner.
    ///   - description: free text.
    ///   - scopes: canonical scopes.
    ///   - expiresAt: optional expiry, which must be in the future.
    ///   - actor: who is creating it, for the audit log.
    ///   - restrictions: where it may be used from.
    ///   - rateLimit: its own rate limit.
    ///   - canary: true for a canary, which grants nothing (its scopes are a decoy) and reports use.
    public func create(
        accountID: UUID, description: String, scopes: [Scope], expiresAt: Date?, actor: AuditActor,
        restrictions: TokenRestrictions = .none, rateLimit: RateLimit? = nil, canary: Bool = false
    ) async throws -> (AccessToken, String) {
        try await pool.withTransaction { connection in
            try Self.create(on: connection, accountID: accountID, description: description, scopes: scopes,
                            expiresAt: expiresAt, actor: actor, restrictions: restrictions, rateLimit: rateLimit, canary: canary)
        }
    }

    /// Imports a token of another format (Logflare's, a self-hosted Supabase's): stored only as its
    /// SHA-256 and hint, marked `imported`, verified and cached like Keyflare's own. A value of
    /// Keyflare's own format is accepted too (moved from another Keyflare). 409 if it is in use.
    /// - Parameters:
    ///   - secret: the token, exactly as clients present it.
    ///   - accountID: the owner.
    ///   - description: free text.
    ///   - scopes: what it may do.
    ///   - expiresAt: when it stops working, or nil for never.
    ///   - actor: who imported it, for the audit log.
    public func importToken(_ secret: String, accountID: UUID, description: String, scopes: [Scope], expiresAt: Date?,
                            actor: AuditActor) async throws -> AccessToken
    {
        // As Logflare treats its legacy tokens: an imported token with no scope is an ingest token.
        let scopes = scopes.isEmpty ? [Scope.ingest] : scopes
        try TokenFormat.refusePublishedExample(secret)
        return try await pool.withTransaction { connection in
            try Self.create(on: connection, accountID: accountID, description: description, scopes: scopes,
                            expiresAt: expiresAt, actor: actor, imported: secret).0
        }
    }

    /// The same, inside a caller's transaction (used when an account is created with its first token).
    /// `seeded` gives the secret instead of generating one, and marks the token as seeded from the
    /// environment (single-tenant installs); the secret must already be checked against the format.
    /// `imported` gives the secret of a token of another format (`TokenFormat.isImportable`).
    static func create(on connection: Connection, accountID: UUID, description: String, scopes: [Scope],
                       expiresAt: Date?, actor: AuditActor, checkResources: Bool = true,
                       seeded: (secret: String, kind: TokenKind)? = nil, imported: String? = nil,
                       restrictions: TokenRestrictions = .none, rateLimit: RateLimit? = nil, canary: Bool = false) throws
        -> (AccessToken, String)
    {
        if canary, !restrictions.isEmpty || rateLimit != nil {
            throw KeyflareError.unprocessable("a canary grants nothing, so it takes no rate_limit, allowed_ips, allowed_origins or require_origin")
        }
        guard !scopes.isEmpty else { throw KeyflareError.unprocessable("a token needs at least one scope") }
        guard description.unicodeScalars.count <= AccessToken.maxDescriptionLength else {
            throw KeyflareError.unprocessable("description must be at most \(AccessToken.maxDescriptionLength) characters")
        }
        if let expiresAt, expiresAt <= Date() {
            throw KeyflareError.unprocessable("expires_at must be in the future")
        }
        // The account's lifetime policy, for every token made here but the operator's seeds. The
        // account row is locked against a concurrent policy change until this token commits.
        // A canary grants nothing and is meant to lie in wait, so the policy does not apply to it.
        if seeded == nil, !canary, let policy = try AccountStore.tokenPolicy(of: accountID, on: connection, lock: true) {
            try policy.check(expiresAt: expiresAt)
        }
        if checkResources { try Self.checkResources(scopes, accountID: accountID, on: connection) }
        let secret = imported ?? seeded?.secret ?? TokenFormat.generate(kind: TokenKind(scopes: scopes))
        let format: AccessToken.Format
        if case .success = TokenFormat.check(secret) {
            format = .keyflare
        } else {
            guard TokenFormat.isImportable(secret) else {
                throw KeyflareError.unprocessable(
                    "a token of another format must be \(TokenFormat.importedLengths.lowerBound) to \(TokenFormat.importedLengths.upperBound) visible ASCII characters (no spaces or control characters), not starting kf_pub_ or kf_prv_")
            }
            format = .imported
        }
        let digest = TokenFormat.digest(of: secret)
        let row = try connection.execute(
            """
            INSERT INTO access_tokens (account_id, description, scopes, token_hash, hint, expires_at, seeded_as, format,
                                       allowed_ips, allowed_origins, require_origin, rate_limit_rps, rate_limit_burst, rate_limit_eps,
                                       canary)
            VALUES (\(accountID), \(description), \(scopes.map(\.description)), decode(\(digest.hex), 'hex'),
                    \(format == .imported && secret.utf8.count < 32 ? "****" : TokenFormat.hint(of: secret)), \(expiresAt),
                    \(seeded?.kind.rawValue), \(format.rawValue), \(restrictions.allowedIPs.map(\.description))::cidr[],
                    \(restrictions.allowedOrigins.map(\.description))::text[], \(restrictions.requireOrigin),
                    \(rateLimit?.requestsPerSecond), \(rateLimit?.burst), \(rateLimit?.eventsPerSecond), \(canary))
            ON CONFLICT (token_hash) DO NOTHING
            RETURNING \(insertedColumns)
            """
        ).first
        // Only an imported or seeded value can collide; the message names no account.
        guard let row else { throw KeyflareError.conflict("that token is already in use") }
        let token = try decode(row)
        try AuditStore.record(.tokenCreated, accountID: accountID, actor: actor, targetType: "token", targetID: token.id, on: connection)
        return (token, secret)
    }

    /// Every scope that names a source or endpoint must name one this account owns; the message
    /// names the first that does not (without saying whether it exists elsewhere).
    private static func checkResources(_ scopes: [Scope], accountID: UUID, on connection: Connection) throws {
        let sources = scopes.compactMap { if case .ingestSource(let id) = $0 { id } else { nil } }
        let endpoints = scopes.compactMap { if case .queryEndpoint(let id) = $0 { id } else { nil } }
        if !sources.isEmpty {
            let owned = try Set(connection.execute(
                "SELECT id FROM sources WHERE account_id = \(accountID) AND id = ANY(\(sources)::uuid[])"
            ).rows.map { try $0.decode("id", as: UUID.self) })
            if let missing = sources.first(where: { !owned.contains($0) }) {
                throw KeyflareError.unprocessable("scope \"\(Scope.ingestSource(missing))\" names no source of this account")
            }
        }
        if !endpoints.isEmpty {
            let owned = try Set(connection.execute(
                "SELECT id FROM endpoints WHERE account_id = \(accountID) AND id = ANY(\(endpoints)::uuid[])"
            ).rows.map { try $0.decode("id", as: UUID.self) })
            if let missing = endpoints.first(where: { !owned.contains($0) }) {
                throw KeyflareError.unprocessable(
                    "scope \"\(Scope.queryEndpoint(missing))\" names no endpoint of this account")
            }
        }
    }

    /// The account's tokens, oldest first.
    /// - Parameters:
    ///   - accountID: the owner.
    ///   - includeRevoked: whether revoked tokens are listed too.
    public func list(accountID: UUID, includeRevoked: Bool) async throws -> [AccessToken] {
        let rows = try await pool.query(
            """
            SELECT \(Self.columns) FROM access_tokens t
            WHERE t.account_id = \(accountID) AND (\(includeRevoked) OR t.revoked_at IS NULL)
            ORDER BY t.created_at, t.id
            """
        ).rows
        return try rows.map(Self.decode)
    }

    /// One token of the account, or nil (also for another account's token).
    /// - Parameters:
    ///   - id: token id.
    ///   - accountID: the owner.
    public func find(id: UUID, accountID: UUID) async throws -> AccessToken? {
        try await pool.query(
            "SELECT \(Self.columns) FROM access_tokens t WHERE t.id = \(id) AND t.account_id = \(accountID)"
        ).first.map(Self.decode)
    }

    /// One token of the account found by its secret (Logflare lets DELETE name the token itself).
    /// - Parameters:
    ///   - digest: SHA-256 of the secret.
    ///   - accountID: the owner.
    public func find(digest: TokenDigest, accountID: UUID) async throws -> AccessToken? {
        try await pool.query(
            """
            SELECT \(Self.columns) FROM access_tokens t
            WHERE t.token_hash = decode(\(digest.hex), 'hex') AND t.account_id = \(accountID)
            """
        ).first.map(Self.decode)
    }

    /// Revokes a token of the account; revoking a revoked token keeps its first revocation time and
    /// records nothing new.
    /// - Parameters:
    ///   - id: token id.
    ///   - accountID: the owner.
    ///   - actor: who is revoking it, for the audit log.
    ///   - confirmation: a nonce from `RevocationConfirmations.register()`: its marker follows the
    ///     change on the token channel, in the same transaction, for the instances to acknowledge.
    /// - Returns: false when the account has no such token.
    public func revoke(id: UUID, accountID: UUID, actor: AuditActor, confirmation: String? = nil) async throws -> Bool {
        try await pool.withTransaction { connection in
            let exists = try connection.execute(
                "SELECT revoked_at IS NOT NULL AS revoked FROM access_tokens WHERE id = \(id) AND account_id = \(accountID) FOR UPDATE"
            ).first
            guard let exists else { return false }
            if try !exists.decode("revoked", as: Bool.self) {
                try connection.execute("UPDATE access_tokens SET revoked_at = now() WHERE id = \(id)")
                try AuditStore.record(.tokenRevoked, accountID: accountID, actor: actor, targetType: "token", targetID: id, on: connection)
            }
            try Self.announce(confirmation, on: connection)
            return true
        }
    }

    /// Sends a confirmation marker on the token channel, after this transaction's changes (a
    /// transaction's notifications are delivered in the order they were sent).
    static func announce(_ confirmation: String?, on connection: Connection) throws {
        guard let confirmation else { return }
        try connection.execute("SELECT pg_notify('keyflare_tokens', \(RevocationConfirmations.markerPrefix + confirmation))")
    }

    /// Narrows a token's scopes (a least-privilege suggestion applied): the new scopes must grant
    /// nothing the current ones do not, and name only this account's sources and endpoints; a
    /// widening is a 422. Every instance drops its cached copy when this commits.
    /// - Parameters:
    ///   - id: token id.
    ///   - accountID: the owner.
    ///   - scopes: the narrower scopes.
    ///   - actor: who, for the audit log.
    /// - Returns: the token as it now stands; nil when the account has no such token.
    public func narrowScopes(id: UUID, accountID: UUID, to scopes: [Scope], actor: AuditActor) async throws -> AccessToken? {
        try await pool.withTransaction { connection in
            guard let row = try connection.execute(
                "SELECT \(Self.columns) FROM access_tokens t WHERE t.id = \(id) AND t.account_id = \(accountID) FOR NO KEY UPDATE"
            ).first else { return nil }
            let current = try Self.decode(row)
            if current.isDead() { throw KeyflareError.conflict("this token can no longer be used; there is nothing to narrow") }
            guard Scope.narrows(scopes, current.scopes) else {
                throw KeyflareError.unprocessable(
                    "scopes must be narrower than the token's (\(current.scopes.map(\.description).joined(separator: " "))): this would widen it or change nothing")
            }
            try Self.checkResources(scopes, accountID: accountID, on: connection)
            let updated = try connection.execute(
                "UPDATE access_tokens t SET scopes = \(scopes.map(\.description)) WHERE t.id = \(id) RETURNING \(Self.insertedColumns)"
            ).first!
            try AuditStore.record(
                .tokenUpdated, accountID: accountID, actor: actor, targetType: "token", targetID: id,
                detail: ["scopes": scopes.map(\.description).joined(separator: " ")], on: connection)
            return try Self.decode(updated)
        }
    }

    /// Longest grace period a roll accepts: 30 days.
    public static let maxGraceSeconds = 30 * 86_400

    /// Replaces a token: a new one with the same scopes and description, and the old one expiring
    /// after `graceSeconds` (revoked at once when 0), in one transaction.
    /// - Parameters:
    ///   - id: the token to replace.
    ///   - accountID: the owner.
    ///   - graceSeconds: how long the old token keeps working.
    ///   - actor: who is rolling it, for the audit log.
    ///   - confirmation: a nonce whose marker follows the change (see `revoke`).
    /// - Returns: the new token and its secret, and the old token as it now stands; nil when the
    ///   account has no such token.
    public func roll(
        id: UUID, accountID: UUID, graceSeconds: Int, expiresIn: Int? = nil, actor: AuditActor, confirmation: String? = nil
    ) async throws
        -> (new: AccessToken, secret: String, old: AccessToken)?
    {
        guard (0...Self.maxGraceSeconds).contains(graceSeconds) else {
            throw KeyflareError.unprocessable("grace_seconds must be from 0 to \(Self.maxGraceSeconds) (30 days)")
        }
        if let expiresIn { _ = try TokenExpiry.after(seconds: expiresIn) }
        return try await pool.withTransaction { connection in
            guard let row = try connection.execute(
                "SELECT \(Self.columns) FROM access_tokens t WHERE t.id = \(id) AND t.account_id = \(accountID) FOR UPDATE"
            ).first else { return nil }
            let old = try Self.decode(row)
            if old.revokedAt != nil { throw KeyflareError.conflict("this token has been revoked; create a new one instead") }
            if old.isDead() { throw KeyflareError.conflict("this token has expired; create a new one instead") }
            if old.canary { throw KeyflareError.conflict("a canary is not rolled; revoke it and create another") }
            // The scopes are copied as they are: a scope naming a since-deleted source stays inert.
            // So is the lifetime policy: a token that expired a day after its creation rolls into one
            // that expires a day after the roll, unless the roll names its own expires_in.
            let now = Date()
            let expiresAt = expiresIn.map { now.addingTimeInterval(TimeInterval($0)) }
                ?? old.expiresAt.map { now.addingTimeInterval($0.timeIntervalSince(old.createdAt)) }
            let (new, secret) = try Self.create(
                on: connection, accountID: accountID, description: old.description, scopes: old.scopes, expiresAt: expiresAt,
                actor: actor, checkResources: false, restrictions: old.restrictions, rateLimit: old.rateLimit
            )
            let updated = try connection.execute(
                graceSeconds == 0
                    ? "UPDATE access_tokens t SET expires_at = now(), revoked_at = now(), rolled_at = now() WHERE t.id = \(id) RETURNING \(Self.insertedColumns)"
                    : """
                    UPDATE access_tokens t SET expires_at = least(coalesce(t.expires_at, 'infinity'), now() + make_interval(secs => \(graceSeconds))),
                        rolled_at = now()
                    WHERE t.id = \(id) RETURNING \(Self.insertedColumns)
                    """
            ).first!
            try AuditStore.record(.tokenRolled, accountID: accountID, actor: actor, targetType: "token", targetID: id, on: connection)
            try Self.announce(confirmation, on: connection)
            return (new, secret, try Self.decode(updated))
        }
    }

    /// What verification needs about a token, by digest, whatever its state.
    /// - Parameters:
    ///   - digest: SHA-256 of the presented secret.
    public func lookup(digest: TokenDigest) async throws -> TokenRecord? {
        guard let row = try await pool.query(
            """
            SELECT t.id, t.account_id, t.scopes, t.expires_at, t.revoked_at, t.disabled_at, t.canary, t.rolled_at,
                   t.allowed_ips::text[] AS allowed_ips,
                   t.allowed_origins, t.require_origin,
                   coalesce(t.rate_limit_rps, a.default_rate_limit_rps) AS rate_limit_rps,
                   CASE WHEN t.rate_limit_rps IS NOT NULL THEN t.rate_limit_burst ELSE a.default_rate_limit_burst END AS rate_limit_burst,
                   CASE WHEN t.rate_limit_rps IS NOT NULL THEN t.rate_limit_eps ELSE a.default_rate_limit_eps END AS rate_limit_eps
            FROM access_tokens t JOIN accounts a ON a.id = t.account_id
            WHERE t.token_hash = decode(\(digest.hex), 'hex')
            """
        ).first else { return nil }
        let token = VerifiedToken(
            tokenID: try row.decode("id"), accountID: try row.decode("account_id"),
            scopes: try Self.scopes(row), expiresAt: try row.decodeIfPresent("expires_at"),
            restrictions: try Self.restrictions(row), rateLimit: try Self.rateLimit(row)
        )
        return TokenRecord(
            token: token, revokedAt: try row.decodeIfPresent("revoked_at"), disabledAt: try row.decodeIfPresent("disabled_at"),
            canary: try row.decode("canary"), rolledAt: try row.decodeIfPresent("rolled_at"))
    }

    /// A row's restrictions. Stored values were checked before they were stored; one that no longer
    /// parses (an operator's SQL) is dropped from its list, and a list that loses every entry
    /// allows nothing rather than everything.
    static func restrictions(_ row: Row) throws -> TokenRestrictions {
        let ips = try row.decode("allowed_ips", as: [String].self)
        let origins = try row.decode("allowed_origins", as: [String].self)
        let requireOrigin: Bool = try row.decode("require_origin")
        if ips.isEmpty && origins.isEmpty && !requireOrigin { return .none }
        var blocks = ips.compactMap { CIDR($0) }
        // cidr prints a one-address block with its prefix; CIDR reads both forms.
        if blocks.isEmpty && !ips.isEmpty { blocks = [CIDR("0.0.0.0/32")!] }
        var patterns = origins.compactMap { try? OriginPattern(parsing: $0) }
        if patterns.isEmpty && !origins.isEmpty { patterns = [try OriginPattern(parsing: "invalid://invalid.invalid")] }
        return TokenRestrictions(allowedIPs: blocks, allowedOrigins: patterns, requireOrigin: requireOrigin)
    }

    /// A row's rate limit: nil without `rate_limit_rps`; the burst defaults to the rate.
    static func rateLimit(_ row: Row) throws -> RateLimit? {
        guard let rps = try row.decodeIfPresent("rate_limit_rps", as: Int.self) else { return nil }
        return RateLimit(
            requestsPerSecond: rps, burst: try row.decodeIfPresent("rate_limit_burst", as: Int.self) ?? rps,
            eventsPerSecond: try row.decodeIfPresent("rate_limit_eps", as: Int.self))
    }

    /// Disables a token (refused with 401 "access token is disabled" until enabled) or enables it
    /// again; its settings, usage and audit history stay. Doing what is already done records nothing.
    /// - Parameters:
    ///   - disabled: true to disable, false to enable.
    ///   - id: token id.
    ///   - accountID: the owner.
    ///   - actor: who, for the audit log.
    ///   - confirmation: a nonce whose marker follows the change (see `revoke`).
    /// - Returns: the token as it now stands; nil when the account has no such token.
    public func setDisabled(
        _ disabled: Bool, id: UUID, accountID: UUID, actor: AuditActor, confirmation: String? = nil
    ) async throws -> AccessToken? {
        try await pool.withTransaction { connection in
            guard let row = try connection.execute(
                "SELECT \(Self.columns) FROM access_tokens t WHERE t.id = \(id) AND t.account_id = \(accountID) FOR UPDATE"
            ).first else { return nil }
            let token = try Self.decode(row)
            if token.revokedAt != nil { throw KeyflareError.conflict("this token has been revoked; it cannot be disabled or enabled") }
            guard (token.disabledAt != nil) != disabled else {
                try Self.announce(confirmation, on: connection)
                return token
            }
            let updated = try connection.execute(
                disabled
                    ? "UPDATE access_tokens t SET disabled_at = now() WHERE t.id = \(id) RETURNING \(Self.insertedColumns)"
                    : "UPDATE access_tokens t SET disabled_at = NULL WHERE t.id = \(id) RETURNING \(Self.insertedColumns)"
            ).first!
            try AuditStore.record(
                disabled ? .tokenDisabled : .tokenEnabled, accountID: accountID, actor: actor, targetType: "token", targetID: id,
                on: connection)
            try Self.announce(confirmation, on: connection)
            return try Self.decode(updated)
        }
    }

    /// Changes a token's description and where it may be used from; nil fields stay as they are.
    /// - Parameters:
    ///   - id: token id.
    ///   - accountID: the owner.
    ///   - description: new description.
    ///   - restrictions: new restrictions.
    ///   - actor: who, for the audit log.
    /// - Returns: the token as it now stands; nil when the account has no such token.
    ///   - rateLimit: new rate limit: `.some(nil)` removes it, nil leaves it.
    public func update(
        id: UUID, accountID: UUID, description: String?, restrictions: TokenRestrictions?, rateLimit: RateLimit?? = nil,
        actor: AuditActor
    ) async throws -> AccessToken? {
        if let description, description.unicodeScalars.count > AccessToken.maxDescriptionLength {
            throw KeyflareError.unprocessable("description must be at most \(AccessToken.maxDescriptionLength) characters")
        }
        return try await pool.withTransaction { connection in
            guard let row = try connection.execute(
                "SELECT \(Self.columns) FROM access_tokens t WHERE t.id = \(id) AND t.account_id = \(accountID) FOR UPDATE"
            ).first else { return nil }
            let token = try Self.decode(row)
            if token.revokedAt != nil { throw KeyflareError.conflict("this token has been revoked; create a new one instead") }
            let r = restrictions ?? token.restrictions
            let limit = rateLimit ?? token.rateLimit
            let updated = try connection.execute(
                """
                UPDATE access_tokens t SET description = \(description ?? token.description),
                    allowed_ips = \(r.allowedIPs.map(\.description))::cidr[], allowed_origins = \(r.allowedOrigins.map(\.description))::text[],
                    require_origin = \(r.requireOrigin), rate_limit_rps = \(limit?.requestsPerSecond),
                    rate_limit_burst = \(limit?.burst), rate_limit_eps = \(limit?.eventsPerSecond)
                WHERE t.id = \(id) RETURNING \(Self.insertedColumns)
                """
            ).first!
            try AuditStore.record(.tokenUpdated, accountID: accountID, actor: actor, targetType: "token", targetID: id, on: connection)
            return try Self.decode(updated)
        }
    }

    static func scopes(_ row: Row) throws -> [Scope] {
        guard let text = row["scopes"] else { return [] }
        if let shared = internedScopes.withLock({ $0[text] }) { return shared }
        // Stored scopes are canonical; one that no longer parses (it cannot, short of manual edits)
        // is dropped rather than granting anything.
        let scopes = try row.decode("scopes", as: [String].self).compactMap { try? Scope(parsing: $0) }
        internedScopes.withLock { table in
            if table.count < 10_000 { table[text] = scopes }
        }
        return scopes
    }

    /// Scope lists by their stored text: most tokens share a handful of scope sets, and a cache of
    /// 100,000 tokens then holds a handful of arrays instead of 100,000 copies.
    static let internedScopes = Mutex<[String: [Scope]]>([:])

    static func decode(_ row: Row) throws -> AccessToken {
        AccessToken(
            id: try row.decode("id"), accountID: try row.decode("account_id"),
            description: try row.decode("description"), scopes: try scopes(row), hint: try row.decode("hint"),
            createdAt: try row.decode("created_at"), expiresAt: try row.decodeIfPresent("expires_at"),
            revokedAt: try row.decodeIfPresent("revoked_at"), lastUsedAt: try row.decodeIfPresent("last_used_at"),
            requestsToday: try row.decode("requests_today"),
            format: AccessToken.Format(rawValue: try row.decode("format")) ?? .keyflare,
            disabledAt: try row.decodeIfPresent("disabled_at"), restrictions: try restrictions(row),
            rateLimit: try rateLimit(row), canary: try row.decode("canary"), rolledAt: try row.decodeIfPresent("rolled_at")
        )
    }
}
