import Foundation
import KeyflareCore
import Logging
import PQ
import PQServices
import Synchronization

/// Runs endpoint SQL as the account's own database role (see `migrations/0007_endpoint_sandbox.sql`).
///
/// Each run is one transaction on a connection logged in as that role: the account's sources are
/// opened as temporary views, the transaction is made READ ONLY with a statement timeout, the user's
/// statement runs wrapped as a subquery capped at `max_limit` rows and turned into JSON by PostgreSQL
/// itself, and everything is rolled back.
public final class QuerySandbox: EndpointRunning {
    private let conninfo: String
    private let pool: Pool
    private let timeout: Duration
    private let logger: Logger
    private let state = Mutex(State())
    private let maxAccountPools: Int
    private let acquireTimeout: Duration?
    private let maxResultBytes: Int
    private let configuredKey: SandboxKey?

    private struct State {
        var pools: [UUID: Pool] = [:]
        var recent: [UUID] = []
        var storedKey: SandboxKey?
    }

    /// - Parameters:
    ///   - conninfo: the main database URL; the account role's name and password replace its user.
    ///   - pool: Keyflare's own pool, for creating roles.
    ///   - timeout: statement timeout for every endpoint query.
    ///   - maxAccountPools: accounts whose connections are kept open at once.
    ///   - acquireTimeout: longest a run waits for one of its account's connections.
    ///   - maxResultBytes: largest result, in bytes of JSON; a larger one is a 413.
    ///   - key: the key role passwords are derived from; nil uses the one kept in the database.
    ///   - logger: where role creation is reported.
    public init(
        conninfo: String, pool: Pool, timeout: Duration, maxAccountPools: Int = 32, acquireTimeout: Duration? = nil,
        maxResultBytes: Int = 10 * 1024 * 1024, key: SandboxKey? = nil, logger: Logger
    ) {
        self.configuredKey = key
        self.conninfo = conninfo
        self.pool = pool
        self.timeout = timeout
        self.maxAccountPools = maxAccountPools
        self.acquireTimeout = acquireTimeout
        self.maxResultBytes = maxResultBytes
        self.logger = logger
    }

    /// Runs an endpoint and returns its rows as a JSON array (each row's JSON made by PostgreSQL).
    ///
    /// The rows arrive one at a time (single-row mode) and PostgreSQL measures each before sending it:
    /// a row over the cap is sent as NULL, and the run stops as soon as the rows so far pass
    /// `maxResultBytes`. So neither libpq nor Swift ever holds more than the cap, however large a
    /// row or a result the SQL makes.
    /// - Parameters:
    ///   - endpoint: the endpoint.
    ///   - values: a value (or nil for NULL) for every parameter the SQL names.
    ///   - callerSQL: a caller's own final statement over a sandboxable endpoint's CTEs.
    public func run(_ endpoint: Endpoint, values: [String: String?], callerSQL: String? = nil) async throws -> String {
        let own = try EndpointSQL(parsing: endpoint.sql)
        // A caller's statement over the CTEs runs alone, after the CTEs became views (`sandboxed`).
        let sql: EndpointSQL
        let before: (@Sendable (Connection) throws -> Void)?
        if let callerSQL {
            guard endpoint.sandboxable else {
                throw KeyflareError.badRequest("this endpoint is not sandboxable, so it takes no sql parameter")
            }
            let split = try SandboxedQuery(endpointSQL: endpoint.sql)
            sql = try SandboxedQuery.callerStatement(callerSQL)
            let ownValues = try Self.values(for: own.parameters, from: values)
            before = { connection in try Self.sandboxed(split, values: ownValues, on: connection) }
        } else {
            sql = own
            before = nil
        }
        let sandboxed = before != nil
        let binds = try Self.values(for: sql.parameters, from: values)
        let cap = maxResultBytes
        let query = Query(unsafeSQL: Self.wrapRows(sql.text, limit: endpoint.maxLimit, maxRowBytes: cap), binds: binds)
        let check = Query(unsafeSQL: "EXPLAIN (FORMAT JSON)\n" + sql.text + "\n", binds: binds)
        let tooLarge = KeyflareError.payloadTooLarge(
            "the result is larger than the \(Self.describe(bytes: cap)) limit (KEYFLARE_QUERY_MAX_BYTES); select fewer rows or columns")
        let json: String?
        do {
            // Views are opened for the sources the endpoint's own SQL names, never the caller's.
            json = try await inSandbox(
                accountID: endpoint.accountID, names: own.names, before: before
            ) { connection -> String? in
                // The caller's statement must stand on its own (PostgreSQL parses it alone first):
                // then its parentheses balance and it cannot close the wrapper's, which caps rows.
                if sandboxed { _ = try connection.execute(check) }
                var out: [UInt8] = [UInt8(ascii: "[")]
                let complete = try connection.stream(query) { row in
                    guard let text = row[0], out.count + text.utf8.count + 2 <= cap else { return .stop }
                    if out.count > 1 { out.append(UInt8(ascii: ",")) }
                    out.append(contentsOf: text.utf8)
                    return .more
                }
                guard complete else { return nil }
                out.append(UInt8(ascii: "]"))
                return String(decoding: out, as: UTF8.self)
            }
        } catch let error as PQError where error.kind == .server {
            throw runtimeError(error)
        }
        guard let json else { throw tooLarge }
        return json
    }

    /// A value (or nil for NULL) for each name, 400 for a missing one or one holding NUL.
    static func values(for names: [String], from values: [String: String?]) throws -> [String?] {
        try names.map { name in
            guard let value = values[name] else { throw KeyflareError.badRequest("missing parameter: \(name)") }
            if value?.utf8.contains(0) == true {
                throw KeyflareError.badRequest("parameter \(name) contains a NUL character (\\u0000), which cannot be sent")
            }
            return value
        }
    }

    /// Turns the session into one where only the endpoint's CTEs can be read: each CTE becomes a
    /// temporary `security_barrier` view (the endpoint's parameters inlined as literals, since a
    /// view takes no bind parameters; the barrier keeps a caller's conditions from running before
    /// the CTE's own filter), owned by the account's role and granted to `keyflare_sandbox_caller`;
    /// the source views are renamed out of the way; the views take the CTEs' names; and the rest of
    /// the transaction runs as `keyflare_sandbox_caller`, which may read nothing else.
    static func sandboxed(_ split: SandboxedQuery, values: [String?], on connection: Connection) throws {
        let literals = try values.map { value in try value.map { try connection.escapeLiteral($0) } ?? "NULL" }
        var views: [(temporary: String, name: String)] = []
        for (i, name) in split.cteNames.enumerated() {
            let temporary = "kf_cte_\(i)"
            let body = try EndpointSQL(parsing: split.selecting(i)).inlining(literals)
            try connection.executeScript(
                unsafeSQL: "CREATE TEMP VIEW \(temporary) WITH (security_barrier) AS\n\(body)\n")
            try connection.executeScript(unsafeSQL: "GRANT SELECT ON pg_temp.\(temporary) TO keyflare_sandbox_caller")
            views.append((temporary, try connection.escapeIdentifier(name)))
        }
        try connection.execute("SELECT keyflare_sandbox.hide_sources()")
        for view in views {
            try connection.executeScript(unsafeSQL: "ALTER VIEW pg_temp.\(view.temporary) RENAME TO \(view.name)")
        }
        try connection.executeScript(unsafeSQL: "SET LOCAL ROLE keyflare_sandbox_caller")
    }

    static func describe(bytes: Int) -> String {
        bytes % (1024 * 1024) == 0 ? "\(bytes / 1024 / 1024) MiB" : "\(bytes) bytes"
    }

    /// The user's SQL as rows of JSON text, each measured by PostgreSQL: `j` is NULL when the row's
    /// JSON is longer than `maxRowBytes`, so an oversized row never crosses the wire.
    static func wrapRows(_ sql: String, limit: Int, maxRowBytes: Int) -> String {
        // Newlines around the user's SQL keep a trailing "-- comment" from swallowing the wrapper.
        """
        SELECT CASE WHEN octet_length(j) <= \(maxRowBytes) THEN j END AS j
        FROM (SELECT row_to_json(endpoint_rows)::text AS j FROM (SELECT * FROM (
        \(sql)
        ) AS endpoint_query LIMIT \(limit)) AS endpoint_rows) AS measured
        """
    }

    /// Checks that SQL plans in the account's sandbox (`EXPLAIN`, parameters as NULL); 422 with
    /// PostgreSQL's message when it does not.
    /// - Parameters:
    ///   - sql: the endpoint SQL.
    ///   - accountID: the account whose sources it may read.
    public func validate(_ sql: String, accountID: UUID) async throws {
        let parsed = try EndpointSQL(parsing: sql)
        let query = Query(
            unsafeSQL: "EXPLAIN " + Self.wrap(parsed.text, limit: 1),
            binds: Array(repeating: nil, count: parsed.parameters.count)
        )
        do {
            _ = try await inSandbox(accountID: accountID, names: parsed.names) { try $0.execute(query) }
        } catch let error as PQError where error.kind == .server {
            if error.condition == .queryCanceled { throw KeyflareError.unprocessable("the query could not be planned in time") }
            throw KeyflareError.unprocessable("invalid SQL: \(error.message)")
        }
    }

    /// Closes every sandbox connection.
    public func close() async {
        let pools = state.withLock { state in
            let pools = Array(state.pools.values)
            state.pools = [:]
            state.recent = []
            return pools
        }
        for pool in pools { await pool.close() }
    }

    static func wrap(_ sql: String, limit: Int) -> String {
        // Newlines around the user's SQL keep a trailing "-- comment" from swallowing the wrapper.
        """
        SELECT coalesce(json_agg(row_to_json(endpoint_rows)), '[]'::json)::text AS result
        FROM (SELECT * FROM (
        \(sql)
        ) AS endpoint_query LIMIT \(limit)) AS endpoint_rows
        """
    }

    private func runtimeError(_ error: PQError) -> KeyflareError {
        if error.condition == .queryCanceled {
            let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
            return .requestTimeout("the query ran longer than the \(seconds.formatted()) s limit and was cancelled")
        }
        return .badRequest("query failed: \(error.message)")
    }

    /// One rolled-back, read-only, time-limited transaction as the account's role, with views for the
    /// account's sources among `names` (the words the statement holds), made inside the time limit.
    private func inSandbox<T: Sendable>(
        accountID: UUID, names: Set<String>, before: (@Sendable (Connection) throws -> Void)? = nil,
        _ body: @escaping @Sendable (Connection) throws -> T
    ) async throws -> T {
        let names = names.sorted()
        let pool = try await accountPool(accountID)
        let milliseconds = Int(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        return try await pool.withConnection { connection in
            // Nothing of one run reaches the next: the transaction is rolled back, then DISCARD ALL
            // drops whatever the session kept (advisory locks, prepared statements, settings,
            // temporary objects, LISTENs). A connection that cannot be cleaned is closed.
            defer {
                _ = try? connection.executeScript(unsafeSQL: "ROLLBACK")
                if (try? connection.executeScript(unsafeSQL: "DISCARD ALL")) == nil { connection.close() }
            }
            try connection.executeScript(
                unsafeSQL: """
                    BEGIN; SET LOCAL statement_timeout = \(max(1, milliseconds)); SET LOCAL TimeZone = 'UTC'
                    """
            )
            try connection.execute("SELECT keyflare_sandbox.open_sources(\(names))")
            try before?(connection)
            try connection.executeScript(unsafeSQL: "SET TRANSACTION READ ONLY")
            return try body(connection)
        }
    }

    private func accountPool(_ accountID: UUID) async throws -> Pool {
        if let pool = touch(accountID) { return pool }
        let (role, password) = try await credentials(accountID)
        let created = Pool(
            configuration: .init(
                conninfo: conninfo, maxConnections: 2,
                options: [("user", role), ("password", password), ("application_name", "keyflare-sandbox")],
                acquireTimeout: acquireTimeout
            ),
            logger: logger
        )
        let (winner, evicted) = state.withLock { state -> (Pool, Pool?) in
            if let existing = state.pools[accountID] { return (existing, created) }
            state.pools[accountID] = created
            state.recent.append(accountID)
            var evicted: Pool?
            if state.recent.count > maxAccountPools {
                let oldest = state.recent.removeFirst()
                evicted = state.pools.removeValue(forKey: oldest)
            }
            return (created, evicted)
        }
        if let evicted { await evicted.close() }
        return winner
    }

    private func touch(_ accountID: UUID) -> Pool? {
        state.withLock { state in
            guard let pool = state.pools[accountID] else { return nil }
            if let i = state.recent.firstIndex(of: accountID) {
                state.recent.remove(at: i)
                state.recent.append(accountID)
            }
            return pool
        }
    }

    /// The key passwords are derived from: the configured one, or the one kept in the database.
    private func sandboxKey() async throws -> SandboxKey {
        if let key = configuredKey ?? state.withLock({ $0.storedKey }) { return key }
        let key = try await SandboxKey.stored(in: pool)
        state.withLock { $0.storedKey = key }
        return key
    }

    /// The account's role and its derived password, the role created on first use. Two instances
    /// racing both try; the loser's transaction rolls back (role included) and it reads the winner's.
    /// A role whose password was set from another key (or stored, before migration 0017) gets it set
    /// again from this one first, under a row lock so that two instances never alter it at once.
    /// Only SCRAM verifiers go to the server, never the password. A failure here is the instance's,
    /// not the tenant's: it is logged and answered 503, never with the database's message.
    private func credentials(_ accountID: UUID) async throws -> (String, String) {
        do {
            return try await prepareRole(accountID)
        } catch let error as PQError where error.condition == .uniqueViolation {
            return try await credentials(accountID)
        } catch let error as PQError {
            logger.error("could not prepare an account's sandbox role", metadata: ["account_id": "\(accountID)", "error": "\(String(reflecting: error))"])
            throw KeyflareError.unavailable("endpoints are unavailable for this account right now; try again shortly")
        }
    }

    private func prepareRole(_ accountID: UUID) async throws -> (String, String) {
        let key = try await sandboxKey()
        if let found = try await pool.query(
            "SELECT role_name, key_id FROM sandbox_roles WHERE account_id = \(accountID)"
        ).first {
            let role: String = try found.decode("role_name")
            let password = key.password(for: role)
            if try found.decodeIfPresent("key_id", as: String.self) != key.id {
                let changed = try await pool.withTransaction { connection -> Bool in
                    let current = try connection.execute(
                        "SELECT key_id FROM sandbox_roles WHERE account_id = \(accountID) FOR UPDATE").first
                    guard try current?.decodeIfPresent("key_id", as: String.self) != key.id else { return false }
                    let verifier = try connection.scramVerifier(of: password, user: role)
                    try connection.execute("SELECT keyflare_set_sandbox_password(\(role), \(verifier))")
                    try connection.execute("UPDATE sandbox_roles SET key_id = \(key.id) WHERE account_id = \(accountID)")
                    return true
                }
                if changed {
                    logger.notice("set a sandbox role's password from the current sandbox key", metadata: ["role": "\(role)"])
                }
            }
            return (role, password)
        }
        let role = "kf_sandbox_" + Self.randomHex(8)
        let password = key.password(for: role)
        try await pool.withTransaction { connection in
            let verifier = try connection.scramVerifier(of: password, user: role)
            try connection.execute("SELECT keyflare_create_sandbox_role(\(role), \(verifier))")
            try connection.execute(
                "INSERT INTO sandbox_roles (account_id, role_name, key_id) VALUES (\(accountID), \(role), \(key.id))"
            )
        }
        logger.info("created sandbox role", metadata: ["account_id": "\(accountID)", "role": "\(role)"])
        return (role, password)
    }

    private static func randomHex(_ bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}
