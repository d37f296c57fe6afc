import Foundation
import Hummingbird
import KeyflareCore
import KeyflareHTTP
import KeyflareStore
import Logging
import PQ
import PQServices

/// What a route installer (such as the web console) gets to build its routes with.
public struct AppServices: Sendable {
    /// The database pool.
    public let pool: Pool
    /// Runs endpoint SQL in the account's sandbox.
    public let sandbox: QuerySandbox
    /// Counts token use.
    public let usage: UsageCounter
    /// The settings in force.
    public let configuration: KeyflareConfiguration
    /// The application logger.
    public let logger: Logger
}

/// Adds routes to the application's router (the web console is one).
public typealias RouteInstaller = @Sendable (Router<AppRequestContext>, AppServices) -> Void

/// One Keyflare instance: the HTTP application and the parts tests and operators look into.
public struct KeyflareApp: Sendable {
    /// The Hummingbird application; run it with `runService()`.
    public let application: Application<RouterResponder<AppRequestContext>>
    /// The verified-token cache.
    public let tokenCache: TokenCache
    /// Readiness and listener state, as `/readyz` reports them.
    public let readiness: Readiness
    /// What `/metrics` exports.
    public let metrics: KeyflareMetrics
    /// Group commit for ingest.
    public let committer: GroupCommitter
    /// Every route the router registers, as "METHOD /path/{param}" (the API's and the console's).
    public let registeredRoutes: [String]
    /// Requests counted in memory and not yet flushed.
    public let usage: UsageCounter
    /// A short random id for this instance, in its listener's `application_name`
    /// (`keyflare-listener-<id>`), so an operator can tell instances apart in `pg_stat_activity`.
    public let instanceID: String

    /// Builds an instance: routes, middleware, and the services it runs (pool, start-up, listener).
    /// - Parameters:
    ///   - configuration: settings; `databaseURL` is required.
    ///   - migrate: apply pending migrations at start-up instead of refusing to start.
    ///   - logger: the application logger.
    ///   - pauseBeforeCacheFill: a test seam between a token lookup and its cache write; nil in production.
    ///   - installers: extra route sets, such as the web console.
    public init(
        configuration: KeyflareConfiguration, migrate: Bool = false, logger: Logger,
        pauseBeforeCacheFill: (@Sendable () async -> Void)? = nil, installers: [RouteInstaller] = []
    ) throws {
        guard let databaseURL = configuration.databaseURL else {
            throw ConfigurationError("KEYFLARE_DATABASE_URL is not set")
        }
        try validateDatabaseURL(databaseURL, name: "KEYFLARE_DATABASE_URL")
        let listenURL = configuration.listenDatabaseURL ?? databaseURL
        if configuration.listenDatabaseURL != nil {
            try validateDatabaseURL(listenURL, name: "KEYFLARE_LISTEN_DATABASE_URL")
        }
        let migrations = try Migration.resolve(configured: configuration.migrationsDirectory)

        let instanceID = String(UUID().uuidString.prefix(8)).lowercased()
        let acquireTimeout = Duration.milliseconds(Int(configuration.dbAcquireTimeout * 1000))
        let pool = Pool(
            configuration: .init(conninfo: databaseURL, maxConnections: configuration.poolSize, acquireTimeout: acquireTimeout),
            logger: logger)
        let readiness = Readiness()
        let metrics = KeyflareMetrics()
        let cache = TokenCache(configuration: .init(
            maxEntries: configuration.tokenCacheSize, maxAge: .seconds(configuration.tokenCacheMaxAge),
            negativeTTL: .seconds(configuration.tokenCacheNegativeTTL)
        ))
        let tokens = AccessTokenStore(pool: pool)
        let verifier = CachingTokenVerifier(
            cache: cache, lookup: DatabaseTokenLookup(store: tokens),
            pauseBeforeFill: pauseBeforeCacheFill
        )
        let startup = DatabaseStartup(
            pool: pool, migrator: Migrator(migrations: migrations, logger: logger), migrate: migrate,
            readiness: readiness, seedTokens: configuration.singleTenant ? configuration.seedTokens : nil, logger: logger
        )
        let confirmations = RevocationConfirmations()
        let instances = InstanceStore(pool: pool, listenDetectionSeconds: configuration.listenDetectionSeconds)
        let listener = TokenInvalidationListener(
            listener: Listener(
                configuration: .init(
                    conninfo: listenURL, channels: TokenInvalidationListener.channels,
                    detectionTimeout: configuration.listenDetectionSeconds,
                    applicationName: "keyflare-listener-\(instanceID)"
                ),
                logger: logger
            ),
            cache: cache, readiness: readiness, metrics: metrics, confirmations: confirmations, instances: instances,
            instanceID: instanceID, logger: logger
        )

        if configuration.sandboxKey == nil {
            logger.notice(
                "KEYFLARE_SANDBOX_KEY is not set: sandbox role passwords are derived from a key kept in the database; set it in production (docs/sandbox.md)")
        }
        let sandbox = QuerySandbox(
            conninfo: databaseURL, pool: pool, timeout: .seconds(configuration.queryTimeoutSeconds),
            acquireTimeout: acquireTimeout, maxResultBytes: configuration.queryMaxBytes,
            key: try configuration.sandboxKey.map { try SandboxKey(secret: Array($0.utf8)) }, logger: logger
        )
        let endpoints = EndpointStore(pool: pool)

        // Few writers: measured on 2 cores, 2 writers beat 10 (more transactions in flight only add
        // contention), and each still carries every request queued while it was busy.
        let committer = GroupCommitter(
            pool: pool, writers: 2, maxBytesInFlight: configuration.ingestQueueBytes, logger: logger)
        let usageCounter = UsageCounter()
        let usageStore = UsageStore(pool: pool)
        var parts = RouterParts(
            verifier: verifier, metrics: metrics, readiness: readiness,
            databaseAnswers: { (try? await pool.query("SELECT 1")) != nil }, databaseFailures: { DatabaseErrors.mapped($0) },
            usage: usageCounter, authFailuresPerMinute: configuration.authFailuresPerMinute,
            clientAddresses: configuration.trustedProxies.isEmpty
                ? nil : ClientAddressResolver(trusted: configuration.trustedProxies, header: configuration.clientAddressHeader),
            accounts: AccountStore(pool: pool), tokens: tokens, usageStore: usageStore, audit: AuditStore(pool: pool),
            sources: SourceStore(pool: pool), endpoints: EndpointCatalog(store: endpoints, sandbox: sandbox), sandbox: sandbox, committer: committer,
            ingestBudget: ByteBudget(capacity: configuration.ingestQueueBytes))
        let rateLimiter = RateLimiter()
        parts.rateLimiter = rateLimiter
        parts.webhooks = WebhookStore(pool: pool, allowPrivate: configuration.webhooksAllowPrivate)
        parts.revocations = RevocationConfirming(
            confirmations: confirmations, instances: instances,
            timeout: .milliseconds(configuration.revokeConfirmMilliseconds), logger: logger)
        let trips = TokenTripQueue()
        parts.trips = trips
        parts.leakReportKeys = try configuration.leakReportKeys.map { try LeakReportKeys(configured: $0) }
        parts.leakReports = LeakReportStore(pool: pool)
        let router = buildRouter(parts)

        let services = AppServices(
            pool: pool, sandbox: sandbox, usage: usageCounter, configuration: configuration, logger: logger)
        for install in installers { install(router, services) }
        // Every route is in now, the console's too: a known path with another method is a 405.
        parts.routes.load(from: router)
        self.registeredRoutes = router.routes.map { "\($0.method.rawValue) \($0.path.description)" }.sorted()

        // Graceful shutdown runs in reverse order: the HTTP server stops first, then the listener,
        // and the pool (listed first) closes last, so in-flight requests still reach the database.
        self.application = Application(
            router: router,
            server: keyflareHTTPServer(
                headerTimeout: .milliseconds(Int(configuration.httpHeaderTimeout * 1000)),
                idleTimeout: .milliseconds(Int(configuration.httpIdleTimeout * 1000)),
                minBodyRate: configuration.httpMinBodyRate),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            services: [
                pool, SandboxService(sandbox: sandbox), startup, listener, committer,
                UsageFlusher(
                    counter: usageCounter, store: usageStore, interval: .seconds(configuration.usageFlushSeconds),
                    logger: logger
                ),
                TokenTripWriter(queue: trips, store: TokenTripStore(pool: pool), interval: .milliseconds(250), logger: logger),
                RateLimitExchange(
                    limiter: rateLimiter, store: RateLimitDemandStore(pool: pool), interval: .milliseconds(250), logger: logger),
                InstanceHeartbeat(
                    store: instances, instanceID: instanceID, address: "\(configuration.host):\(configuration.port)",
                    readiness: readiness, interval: .seconds(1),
                    fence: { [cache] in cache.distrust() },
                    // The listener's next .connected trusts the cache again, empty.
                    restartListener: { [instances] in
                        try? await instances.endListenerConnection(applicationName: "keyflare-listener-\(instanceID)")
                    },
                    logger: logger),
                WebhookScheduler(
                    schedule: WebhookSchedule(pool: pool), interval: .milliseconds(Int(configuration.webhookScheduleSeconds * 1000)),
                    ready: { [readiness] in readiness.isReady }, logger: logger),
                WebhookDeliverer(
                    queue: WebhookQueue(pool: pool), instanceID: instanceID,
                    backoff: WebhookBackoff(
                        base: .milliseconds(configuration.webhookRetryBaseMilliseconds),
                        giveUpAfter: .seconds(configuration.webhookGiveUpSeconds)),
                    timeout: .milliseconds(Int(configuration.webhookTimeoutSeconds * 1000)),
                    concurrency: configuration.webhookConcurrency, poll: .milliseconds(configuration.webhookPollMilliseconds),
                    allowPrivate: configuration.webhooksAllowPrivate, ready: { [readiness] in readiness.isReady }, logger: logger),
            ],
            logger: logger
        )
        self.tokenCache = cache
        self.readiness = readiness
        self.metrics = metrics
        self.instanceID = instanceID
        self.usage = usageCounter
        self.committer = committer
    }
}

/// Builds the Keyflare HTTP application. Shared by `keyflare serve` and the tests.
/// - Parameters:
///   - configuration: settings; `databaseURL` is required.
///   - migrate: apply pending migrations at start-up instead of refusing to start.
///   - logger: the application logger.
public func buildApplication(
    configuration: KeyflareConfiguration,
    migrate: Bool = false,
    logger: Logger
) throws -> some ApplicationProtocol {
    try KeyflareApp(configuration: configuration, migrate: migrate, logger: logger).application
}

/// Checks a libpq URI or conninfo string without connecting; the error is one line and never
/// echoes the string itself, which may hold a password.
/// - Parameters:
///   - url: the value.
///   - name: the setting it came from, for the message.
public func validateDatabaseURL(_ url: String, name: String) throws {
    do {
        try Connection.validate(conninfo: url)
    } catch let error as PQError {
        let detail = error.message.replacingOccurrences(of: url, with: "<\(name)>")
        throw ConfigurationError("\(name) is malformed: \(detail)")
    }
}
