import Crypto
import Foundation
import KeyflareCore
import PQ
import PQServices
import Synchronization

/// Console sign-in, sessions and sign-in rate limits, in PostgreSQL.
public struct SessionStore: Sendable {
    private let pool: Pool
    private let hasher: PasswordHasher

    /// How long a session lasts.
    public static let lifetime: TimeInterval = 12 * 3600
    /// Failed sign-ins allowed per email, and per client address, in `window`.
    public static let maxFailuresPerEmail = 5
    public static let maxFailuresPerIP = 20
    /// The rate-limit window.
    public static let window: TimeInterval = 15 * 60

    /// A bcrypt hash of a random string, checked against when the email is unknown, so that an
    /// unknown email takes as long to refuse as a wrong password. Made once, on first use.
    private static let decoy = Mutex<String?>(nil)

    private func decoyHash() async throws -> String {
        if let hash = Self.decoy.withLock({ $0 }) { return hash }
        let hash = try await hasher.hash(Self.randomSecret())
        Self.decoy.withLock { $0 = hash }
        return hash
    }

    /// - Parameters:
    ///   - pool: the database.
    ///   - hasher: bcrypt, off the event loop.
    public init(pool: Pool, hasher: PasswordHasher = PasswordHasher()) {
        self.pool = pool
        self.hasher = hasher
    }

    /// The longest email accepted at sign-in (RFC 5321 allows 254 for a path; some margin).
    public static let maxEmailBytes = 320
    /// Expired failure rows removed per sign-in attempt; each attempt adds at most one, so the table
    /// stays bounded by what the window holds.
    static let pruneBatch = 100

    /// Signs in: the attempt is reserved first, then the password is checked; on success a new session
    /// and its cookie value. Every failure says only "invalid email or password".
    ///
    /// The reservation holds the limit under concurrency and across instances: under a
    /// transaction-scoped advisory lock per email and per client address (always taken in that
    /// order), it counts the failures in the window, refuses with 429 when the limit is reached, and
    /// otherwise inserts a failure row *before* bcrypt runs. A correct password deletes that row again.
    /// So of any number of parallel guesses, at most the limit ever reach bcrypt.
    /// - Parameters:
    ///   - email: as typed.
    ///   - password: as typed; never logged or stored.
    ///   - ip: the client address.
    ///   - userAgent: the client's User-Agent.
    /// - Returns: the cookie value (a secret) and the session.
    public func signIn(email: String, password: String, ip: String?, userAgent: String?) async throws
        -> (cookie: String, session: ConsoleSession)
    {
        guard email.utf8.count <= Self.maxEmailBytes else {
            throw KeyflareError.badRequest("email must be at most \(Self.maxEmailBytes) characters")
        }
        let email = email.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        // IPv6 clients count by their /64: one host can use every address in it.
        let reservation = try await reserveAttempt(email: email, ip: ip.map(FailureLimiter.key))
        let user = try await pool.query(
            "SELECT id, account_id, password_hash FROM users WHERE lower(email) = \(email)"
        ).first
        let hash = try user?.decodeIfPresent("password_hash", as: String.self)
        let decoy = try await decoyHash()
        let matches = try await hasher.verify(password, hash: hash ?? decoy) && hash != nil
        guard matches, let user else {
            // The reserved row stays: it is this failure.
            if let user {
                let userID: UUID? = try user.decode("id")
                let accountID: UUID = try user.decode("account_id")
                _ = try await pool.withTransaction { connection in
                    try AuditStore.record(
                        .userSignInFailed, accountID: accountID,
                        actor: AuditActor(kind: .user, id: userID, ip: ip, userAgent: userAgent), targetType: "user",
                        targetID: userID, on: connection)
                }
            }
            throw KeyflareError.unauthorized("invalid email or password")
        }
        try await pool.query("DELETE FROM sign_in_failures WHERE id = \(reservation)")
        let userID: UUID = try user.decode("id")
        let accountID: UUID = try user.decode("account_id")
        let cookie = Self.randomSecret()
        let csrf = Self.randomSecret()
        let digest = TokenFormat.digest(of: cookie)
        try await pool.withTransaction { connection in
            try connection.execute(
                """
                INSERT INTO sessions (token_hash, user_id, account_id, csrf_token, expires_at)
                VALUES (decode(\(digest.hex), 'hex'), \(userID), \(accountID), \(csrf),
                        now() + make_interval(secs => \(Self.lifetime)))
                """
            )
            try AuditStore.record(
                .userSignedIn, accountID: accountID, actor: AuditActor(kind: .user, id: userID, ip: ip, userAgent: userAgent),
                targetType: "user", targetID: userID, on: connection)
        }
        guard let session = try await session(cookie: cookie) else {
            throw KeyflareError.unavailable("the new session could not be read back")
        }
        return (cookie, session)
    }

    /// Counts this attempt against the limits before any password is checked; returns the id of its
    /// failure row, or throws 429 when the email or the address has no attempts left.
    private func reserveAttempt(email: String, ip: String?) async throws -> Int64 {
        try await pool.withTransaction { connection in
            try connection.execute("SELECT pg_advisory_xact_lock(hashtextextended(\("keyflare sign-in email " + email), 0))")
            if let ip {
                try connection.execute("SELECT pg_advisory_xact_lock(hashtextextended(\("keyflare sign-in ip " + ip), 0))")
            }
            let failures = try connection.execute(
                """
                SELECT (SELECT count(*) FROM sign_in_failures
                        WHERE email = \(email) AND failed_at > now() - make_interval(secs => \(Self.window))) AS by_email,
                       (SELECT count(*) FROM sign_in_failures
                        WHERE ip = \(ip) AND failed_at > now() - make_interval(secs => \(Self.window))) AS by_ip
                """
            ).first!
            if try failures.decode("by_email", as: Int.self) >= Self.maxFailuresPerEmail
                || failures.decode("by_ip", as: Int.self) >= Self.maxFailuresPerIP
            {
                throw KeyflareError.tooManyRequests("too many failed sign-ins; wait 15 minutes and try again")
            }
            try connection.execute(
                """
                DELETE FROM sign_in_failures WHERE id IN (
                    SELECT id FROM sign_in_failures WHERE failed_at < now() - make_interval(secs => \(Self.window))
                    ORDER BY failed_at LIMIT \(Self.pruneBatch))
                """
            )
            return try connection.execute(
                "INSERT INTO sign_in_failures (email, ip) VALUES (\(email), \(ip)) RETURNING id"
            ).first!.decode("id", as: Int64.self)
        }
    }

    /// The live session a cookie value names, or nil.
    /// - Parameters:
    ///   - cookie: the cookie value.
    public func session(cookie: String) async throws -> ConsoleSession? {
        guard cookie.utf8.count == 43 else { return nil }
        let digest = TokenFormat.digest(of: cookie)
        guard let row = try await pool.query(
            """
            SELECT s.user_id, u.email, s.account_id, a.name, s.csrf_token
            FROM sessions s JOIN users u ON u.id = s.user_id JOIN accounts a ON a.id = s.account_id
            WHERE s.token_hash = decode(\(digest.hex), 'hex') AND s.expires_at > now()
            """
        ).first else { return nil }
        return ConsoleSession(
            userID: try row.decode("user_id"), email: try row.decode("email"), accountID: try row.decode("account_id"),
            accountName: try row.decode("name"), csrfToken: try row.decode("csrf_token")
        )
    }

    /// Ends a session, on every instance.
    /// - Parameters:
    ///   - cookie: the cookie value.
    public func signOut(cookie: String) async throws {
        let digest = TokenFormat.digest(of: cookie)
        try await pool.query("DELETE FROM sessions WHERE token_hash = decode(\(digest.hex), 'hex')")
    }

    /// 32 CSPRNG bytes, base64url without padding (43 characters).
    public static func randomSecret() -> String {
        let key = SymmetricKey(size: .bits256)
        let data = key.withUnsafeBytes { Data($0) }
        return data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
