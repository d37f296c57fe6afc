/// Runtime settings, read from the environment; command-line flags override them.
public struct KeyflareConfiguration: Sendable, Equatable {
    /// How log lines are written.
    public enum LogFormat: String, Sendable {
        /// Human-readable lines.
        case text
        /// One JSON object per line.
        case json
    }

    /// libpq URI or conninfo string; nil means "not configured".
    public var databaseURL: String?
    /// Overrides `databaseURL` for the LISTEN connection (LISTEN does not work through a
    /// transaction-pooling PgBouncer).
    public var listenDatabaseURL: String?
    /// Address to listen on.
    public var host: String
    /// Port to listen on.
    public var port: Int
    /// Minimum log level (`trace` ... `critical`).
    public var logLevel: String
    /// Log line format.
    public var logFormat: LogFormat
    /// Upper bound of pooled database connections.
    public var poolSize: Int
    /// Folder of `NNNN_name.sql` migrations to use instead of the embedded ones; nil means embedded.
    public var migrationsDirectory: String?
    /// Most entries in the verified-token cache.
    public var tokenCacheSize: Int
    /// Safety-net age of a cached token, in seconds (invalidation is by NOTIFY, not by age).
    public var tokenCacheMaxAge: Double
    /// Lifetime of a cached "no such token", in seconds.
    public var tokenCacheNegativeTTL: Double
    /// Seconds within which a silently dead LISTEN connection is noticed.
    public var listenDetectionSeconds: Double
    /// How long a revoke (or disable, or roll without grace) waits for every live instance to
    /// acknowledge it, in milliseconds (0: it does not wait).
    public var revokeConfirmMilliseconds: Int
    /// Statement timeout of endpoint queries, in seconds.
    public var queryTimeoutSeconds: Double
    /// How often usage counts are written to the database, in seconds (at most 10).
    public var usageFlushSeconds: Double
    /// Seconds an instance keeps serving after SIGTERM, with `/readyz` at 503, before shutting down.
    public var drainSeconds: Double
    /// The address people reach Keyflare at; an `https` one makes console cookies `Secure`.
    public var publicURL: String?
    /// Whether a default account is created on first start, for installs embedding Keyflare.
    public var singleTenant: Bool
    /// Exact secrets of the tokens seeded into the single-tenant account, by kind (secret values).
    public var seedTokens: [TokenKind: String]
    /// Most ingest body bytes accepted and not yet committed, per instance (`KEYFLARE_INGEST_QUEUE_BYTES`).
    public var ingestQueueBytes: Int
    /// Largest endpoint result, in bytes of JSON (`KEYFLARE_QUERY_MAX_BYTES`).
    public var queryMaxBytes: Int
    /// Longest a request waits for a pooled database connection, in seconds (`KEYFLARE_DB_ACQUIRE_TIMEOUT`).
    public var dbAcquireTimeout: Double
    /// Longest a connection may take to send a request head, in seconds (`KEYFLARE_HTTP_HEADER_TIMEOUT`).
    public var httpHeaderTimeout: Double
    /// Longest an idle keep-alive connection stays open, in seconds (`KEYFLARE_HTTP_IDLE_TIMEOUT`).
    public var httpIdleTimeout: Double
    /// Slowest body upload accepted, in bytes per second after the first seconds (`KEYFLARE_HTTP_MIN_BODY_RATE`).
    public var httpMinBodyRate: Int
    /// Failed token verifications allowed per client address per minute (`KEYFLARE_AUTH_FAILURES_PER_MINUTE`).
    public var authFailuresPerMinute: Int
    /// Proxies whose forwarding header names the client (`KEYFLARE_TRUSTED_PROXIES`); empty: none.
    public var trustedProxies: [CIDR]
    /// The forwarding header those proxies write (`KEYFLARE_CLIENT_ADDRESS_HEADER`).
    public var clientAddressHeader: ClientAddressResolver.Header
    /// The secret sandbox role passwords are derived from (`KEYFLARE_SANDBOX_KEY`, at least 32 bytes);
    /// nil: a random key kept in the database.
    public var sandboxKey: String?
    /// The public keys that sign leaked-token reports (`KEYFLARE_LEAK_REPORT_KEYS`): a JSON document
    /// in the form of GitHub's secret-scanning keys, inline or as the path of a file holding it; nil
    /// refuses every report (401).
    public var leakReportKeys: String?
    /// Whether webhook URLs may lead to loopback, link-local and private addresses
    /// (`KEYFLARE_WEBHOOKS_ALLOW_PRIVATE`).
    public var webhooksAllowPrivate: Bool
    /// The wait after a webhook delivery's first failed attempt, doubled after each further one, in
    /// milliseconds (`KEYFLARE_WEBHOOK_RETRY_BASE_MS`).
    public var webhookRetryBaseMilliseconds: Int
    /// How long webhook deliveries are retried, in seconds (`KEYFLARE_WEBHOOK_GIVE_UP_SECONDS`).
    public var webhookGiveUpSeconds: Int
    /// Longest a webhook delivery attempt takes, connecting included, in seconds (`KEYFLARE_WEBHOOK_TIMEOUT`).
    public var webhookTimeoutSeconds: Double
    /// Most webhook deliveries one instance sends at once (`KEYFLARE_WEBHOOK_CONCURRENCY`).
    public var webhookConcurrency: Int
    /// How often an idle instance looks for due webhook deliveries, in milliseconds (no variable: tests shorten it).
    public var webhookPollMilliseconds: Int
    /// How often the webhook scheduler looks for expiring, expired and rate-limited tokens, in
    /// seconds (no variable: tests shorten it).
    public var webhookScheduleSeconds: Double

    /// Settings with every default.
    public init() {
        databaseURL = nil
        listenDatabaseURL = nil
        host = "127.0.0.1"
        port = 4000
        logLevel = "info"
        logFormat = .text
        poolSize = 10
        migrationsDirectory = nil
        tokenCacheSize = 100_000
        tokenCacheMaxAge = 60
        tokenCacheNegativeTTL = 5
        listenDetectionSeconds = 10
        revokeConfirmMilliseconds = 250
        queryTimeoutSeconds = 5
        usageFlushSeconds = 10
        publicURL = nil
        drainSeconds = 5
        singleTenant = false
        seedTokens = [:]
        trustedProxies = []
        clientAddressHeader = .xForwardedFor
        ingestQueueBytes = 256 * 1024 * 1024
        queryMaxBytes = 10 * 1024 * 1024
        dbAcquireTimeout = 2
        httpHeaderTimeout = 10
        httpIdleTimeout = 60
        httpMinBodyRate = 1024
        authFailuresPerMinute = 60
        sandboxKey = nil
        leakReportKeys = nil
        webhooksAllowPrivate = false
        webhookRetryBaseMilliseconds = 10_000
        webhookGiveUpSeconds = 86_400
        webhookTimeoutSeconds = 10
        webhookConcurrency = 8
        webhookPollMilliseconds = 1_000
        webhookScheduleSeconds = 60
    }

    /// Reads `KEYFLARE_*` variables.
    /// - Parameters:
    ///   - environment: the process environment, or a dictionary in tests.
    public init(environment: [String: String]) throws {
        self.init()
        func value(_ key: String) -> String? {
            guard let v = environment[key], !v.isEmpty else { return nil }
            return v
        }
        databaseURL = value("KEYFLARE_DATABASE_URL")
        listenDatabaseURL = value("KEYFLARE_LISTEN_DATABASE_URL")
        if let host = value("KEYFLARE_HOST") { self.host = host }
        if let port = value("KEYFLARE_PORT") { self.port = try Self.parsePort(port, name: "KEYFLARE_PORT") }
        if let level = value("KEYFLARE_LOG_LEVEL") {
            guard Self.logLevels.contains(level.lowercased()) else {
                throw ConfigurationError("KEYFLARE_LOG_LEVEL must be one of \(Self.logLevels.joined(separator: ", "))")
            }
            logLevel = level.lowercased()
        }
        if let format = value("KEYFLARE_LOG_FORMAT") {
            guard let parsed = LogFormat(rawValue: format.lowercased()) else {
                throw ConfigurationError("KEYFLARE_LOG_FORMAT must be text or json")
            }
            logFormat = parsed
        }
        if let size = value("KEYFLARE_DB_POOL_SIZE") {
            guard let n = Int(size), (1...500).contains(n) else {
                throw ConfigurationError("KEYFLARE_DB_POOL_SIZE must be a number from 1 to 500")
            }
            poolSize = n
        }
        migrationsDirectory = value("KEYFLARE_MIGRATIONS_DIR")
        publicURL = value("KEYFLARE_PUBLIC_URL")
        if let drain = value("KEYFLARE_DRAIN_SECONDS") {
            guard let seconds = Double(drain), (0...600).contains(seconds) else {
                throw ConfigurationError("KEYFLARE_DRAIN_SECONDS must be a number of seconds from 0 to 600")
            }
            drainSeconds = seconds
        }
        if let size = value("KEYFLARE_TOKEN_CACHE_SIZE") {
            guard let n = Int(size), n >= 1 else {
                throw ConfigurationError("KEYFLARE_TOKEN_CACHE_SIZE must be a positive number")
            }
            tokenCacheSize = n
        }
        tokenCacheMaxAge = try Self.seconds(value("KEYFLARE_TOKEN_CACHE_MAX_AGE"), name: "KEYFLARE_TOKEN_CACHE_MAX_AGE") ?? tokenCacheMaxAge
        tokenCacheNegativeTTL = try Self.seconds(value("KEYFLARE_TOKEN_CACHE_NEGATIVE_TTL"), name: "KEYFLARE_TOKEN_CACHE_NEGATIVE_TTL") ?? tokenCacheNegativeTTL
        listenDetectionSeconds = try Self.seconds(value("KEYFLARE_LISTEN_DETECTION_SECONDS"), name: "KEYFLARE_LISTEN_DETECTION_SECONDS") ?? listenDetectionSeconds
        revokeConfirmMilliseconds = try Self.integer(value("KEYFLARE_REVOKE_CONFIRM_MS"), name: "KEYFLARE_REVOKE_CONFIRM_MS", in: 0...10_000) ?? revokeConfirmMilliseconds
        queryTimeoutSeconds = try Self.seconds(value("KEYFLARE_QUERY_TIMEOUT"), name: "KEYFLARE_QUERY_TIMEOUT") ?? queryTimeoutSeconds
        usageFlushSeconds = try Self.seconds(value("KEYFLARE_USAGE_FLUSH_SECONDS"), name: "KEYFLARE_USAGE_FLUSH_SECONDS") ?? usageFlushSeconds
        guard usageFlushSeconds <= 10 else { throw ConfigurationError("KEYFLARE_USAGE_FLUSH_SECONDS must be at most 10") }
        if let flag = value("KEYFLARE_SINGLE_TENANT") {
            switch flag.lowercased() {
            case "true", "1", "yes", "on": singleTenant = true
            case "false", "0", "no", "off": singleTenant = false
            default: throw ConfigurationError("KEYFLARE_SINGLE_TENANT must be true or false")
            }
        }
        ingestQueueBytes = try Self.integer(value("KEYFLARE_INGEST_QUEUE_BYTES"), name: "KEYFLARE_INGEST_QUEUE_BYTES", in: 1_048_576...(1 << 34)) ?? ingestQueueBytes
        queryMaxBytes = try Self.integer(value("KEYFLARE_QUERY_MAX_BYTES"), name: "KEYFLARE_QUERY_MAX_BYTES", in: 1024...(1 << 30)) ?? queryMaxBytes
        dbAcquireTimeout = try Self.seconds(value("KEYFLARE_DB_ACQUIRE_TIMEOUT"), name: "KEYFLARE_DB_ACQUIRE_TIMEOUT") ?? dbAcquireTimeout
        httpHeaderTimeout = try Self.seconds(value("KEYFLARE_HTTP_HEADER_TIMEOUT"), name: "KEYFLARE_HTTP_HEADER_TIMEOUT") ?? httpHeaderTimeout
        httpIdleTimeout = try Self.seconds(value("KEYFLARE_HTTP_IDLE_TIMEOUT"), name: "KEYFLARE_HTTP_IDLE_TIMEOUT") ?? httpIdleTimeout
        httpMinBodyRate = try Self.integer(value("KEYFLARE_HTTP_MIN_BODY_RATE"), name: "KEYFLARE_HTTP_MIN_BODY_RATE", in: 0...(1 << 30)) ?? httpMinBodyRate
        authFailuresPerMinute = try Self.integer(value("KEYFLARE_AUTH_FAILURES_PER_MINUTE"), name: "KEYFLARE_AUTH_FAILURES_PER_MINUTE", in: 1...1_000_000) ?? authFailuresPerMinute
        if let list = value("KEYFLARE_TRUSTED_PROXIES") {
            trustedProxies = try list.split(whereSeparator: { $0 == "," || $0 == " " }).map { entry in
                guard let block = CIDR(entry) else {
                    throw ConfigurationError(
                        "KEYFLARE_TRUSTED_PROXIES: \(entry) is not an address or CIDR block (such as 10.0.0.0/8), or has bits set past its prefix")
                }
                return block
            }
        }
        if let header = value("KEYFLARE_CLIENT_ADDRESS_HEADER") {
            guard let parsed = ClientAddressResolver.Header(rawValue: header.lowercased()) else {
                throw ConfigurationError("KEYFLARE_CLIENT_ADDRESS_HEADER must be x-forwarded-for or forwarded")
            }
            clientAddressHeader = parsed
        }
        if let keys = value("KEYFLARE_LEAK_REPORT_KEYS") {
            // Parsed here so that a bad value stops the start, not the first report.
            _ = try LeakReportKeys(configured: keys)
            leakReportKeys = keys
        }
        if let flag = value("KEYFLARE_WEBHOOKS_ALLOW_PRIVATE") {
            switch flag.lowercased() {
            case "true", "1", "yes", "on": webhooksAllowPrivate = true
            case "false", "0", "no", "off": webhooksAllowPrivate = false
            default: throw ConfigurationError("KEYFLARE_WEBHOOKS_ALLOW_PRIVATE must be true or false")
            }
        }
        webhookRetryBaseMilliseconds = try Self.integer(
            value("KEYFLARE_WEBHOOK_RETRY_BASE_MS"), name: "KEYFLARE_WEBHOOK_RETRY_BASE_MS", in: 1...3_600_000) ?? webhookRetryBaseMilliseconds
        webhookGiveUpSeconds = try Self.integer(
            value("KEYFLARE_WEBHOOK_GIVE_UP_SECONDS"), name: "KEYFLARE_WEBHOOK_GIVE_UP_SECONDS", in: 1...604_800) ?? webhookGiveUpSeconds
        webhookTimeoutSeconds = try Self.seconds(value("KEYFLARE_WEBHOOK_TIMEOUT"), name: "KEYFLARE_WEBHOOK_TIMEOUT") ?? webhookTimeoutSeconds
        guard webhookTimeoutSeconds <= 60 else { throw ConfigurationError("KEYFLARE_WEBHOOK_TIMEOUT must be at most 60 seconds") }
        webhookConcurrency = try Self.integer(value("KEYFLARE_WEBHOOK_CONCURRENCY"), name: "KEYFLARE_WEBHOOK_CONCURRENCY", in: 1...256) ?? webhookConcurrency
        if let key = value("KEYFLARE_SANDBOX_KEY") {
            // The message never repeats the value: it is a secret.
            guard key.utf8.count >= 32 else {
                throw ConfigurationError("KEYFLARE_SANDBOX_KEY must be at least 32 bytes long (`openssl rand -hex 32` prints one)")
            }
            sandboxKey = key
        }
        for kind in [TokenKind.public, .private] {
            let name = Self.seedVariable(for: kind)
            guard let token = value(name) else { continue }
            // The message never repeats the value: it is a secret.
            guard singleTenant else { throw ConfigurationError("\(name) needs KEYFLARE_SINGLE_TENANT=true") }
            switch TokenFormat.check(token) {
            case .success(kind): seedTokens[kind] = token
            case .success:
                throw ConfigurationError("\(name) must be a \(kind) token (starting \(kind.prefix)); `keyflare token generate --type \(kind)` prints one")
            case .failure(.malformed) where TokenFormat.isImportable(token):
                // A free-form value, as self-hosted Supabase ships: seeded as an imported token, but
                // never the published example, which is nobody's secret.
                guard (try? TokenFormat.refusePublishedExample(token)) != nil else {
                    throw ConfigurationError("\(name) is the example value published with self-hosted Supabase; set your own")
                }
                seedTokens[kind] = token
            case .failure:
                throw ConfigurationError(
                    "\(name) is neither a Keyflare token nor 16 to 512 visible ASCII characters; `keyflare token generate --type \(kind)` prints one")
            }
        }
    }

    private static func integer(_ text: String?, name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw ConfigurationError("\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    private static func seconds(_ text: String?, name: String) throws -> Double? {
        guard let text else { return nil }
        guard let value = Double(text), value > 0, value <= 86_400 else {
            throw ConfigurationError("\(name) must be a number of seconds greater than 0")
        }
        return value
    }

    /// The variable that seeds the single-tenant token of a kind.
    public static func seedVariable(for kind: TokenKind) -> String {
        switch kind {
        case .public: "KEYFLARE_PUBLIC_ACCESS_TOKEN"
        case .private: "KEYFLARE_PRIVATE_ACCESS_TOKEN"
        }
    }

    /// The accepted log level names.
    public static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// Parses a TCP port number.
    /// - Parameters:
    ///   - text: the value.
    ///   - name: the setting's name, for the message.
    public static func parsePort(_ text: String, name: String) throws -> Int {
        guard let port = Int(text), (0...65535).contains(port) else {
            throw ConfigurationError("\(name) must be a port number from 0 to 65535")
        }
        return port
    }
}

extension KeyflareConfiguration: CustomStringConvertible, CustomReflectable {
    /// The settings without their secrets (database URLs may hold passwords; seeded tokens are
    /// secrets), for any log line or dump that prints a configuration.
    public var description: String {
        "KeyflareConfiguration(host: \(host), port: \(port), poolSize: \(poolSize), singleTenant: \(singleTenant), "
            + "seedTokens: \(seedTokens.keys.map(\.rawValue).sorted()), sandboxKey: \(sandboxKey == nil ? "unset" : "set"), databaseURL: \(databaseURL == nil ? "unset" : "set"))"
    }

    public var customMirror: Mirror { Mirror(self, children: ["description": description]) }
}

/// A setting that cannot be used; the message is one line, for a person.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public let message: String

    /// - Parameters:
    ///   - message: one line saying what is wrong.
    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
