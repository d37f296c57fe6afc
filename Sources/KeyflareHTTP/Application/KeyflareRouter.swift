import Hummingbird
import HummingbirdCore
import KeyflareCore
import NIOCore

/// Everything the API's routes need, built by the composition (`KeyflareServer`). The storage
/// behind them is KeyflareCore's protocols (`Ports/`): the composition passes the PostgreSQL stores,
/// the routing tests in-memory fakes.
public struct RouterParts: Sendable {
    /// Verifies presented tokens (the cache, then the database).
    public var verifier: any TokenVerifier
    /// What `/metrics` exports.
    public var metrics: KeyflareMetrics
    /// What `/readyz` reports.
    public var readiness: Readiness
    /// Whether the database answers a query right now, for `/readyz`.
    public var databaseAnswers: @Sendable () async -> Bool
    /// Turns a database failure into the domain error a caller gets (storage's `DatabaseErrors.mapped`),
    /// so that this target never sees the database's own errors.
    public var databaseFailures: FailureMapping
    /// Counts token use until it is flushed.
    public var usage: UsageCounter
    /// Failed verifications allowed per client address per minute.
    public var authFailuresPerMinute: Int
    /// Proxies whose forwarding header names the client, and which header.
    public var clientAddresses: ClientAddressResolver?
    /// The account, its tokens and their usage counts, behind the management routes.
    public var accounts: any AccountManaging, tokens: any TokenManaging, usageStore: any TokenUsageReading
    /// The audit log, behind `/api/audit-events`.
    public var audit: any AuditLogReading
    /// Sources (management and ingest), endpoints (management and queries, the SQL checked on
    /// save), and where endpoint queries run.
    public var sources: any SourceManaging, endpoints: any EndpointManaging, sandbox: any EndpointRunning
    /// Where ingest commits its batches, and the byte budget of bodies in flight.
    public var committer: any EventCommitting, ingestBudget: ByteBudget
    /// The registered routes, for 405s: the composition loads it once every route is added.
    public var routes = RouteTable()
    /// Per-token rate limits, shared with the other instances by the composition's exchange.
    public var rateLimiter = RateLimiter()
    /// Confirmed revocation: waits for every live instance to acknowledge a revoke.
    public var revocations = RevocationConfirming.disabled()
    /// Where canary uses and rolled tokens used after their grace period are reported.
    public var trips: any TokenTripRecording = TokenTripQueue()
    /// Leaked-token reports: the keys that sign them (nil: none accepted) and what acts on them.
    public var leakReportKeys: LeakReportKeys?
    public var leakReports: (any LeakReportHandling)?
    /// Webhooks, behind `/api/webhooks`; nil registers no webhook routes.
    public var webhooks: (any WebhookManaging)?

    /// - Parameters: one for each property.
    public init(
        verifier: any TokenVerifier, metrics: KeyflareMetrics, readiness: Readiness,
        databaseAnswers: @escaping @Sendable () async -> Bool, databaseFailures: @escaping FailureMapping, usage: UsageCounter, authFailuresPerMinute: Int,
        clientAddresses: ClientAddressResolver?, accounts: any AccountManaging, tokens: any TokenManaging,
        usageStore: any TokenUsageReading, audit: any AuditLogReading, sources: any SourceManaging,
        endpoints: any EndpointManaging, sandbox: any EndpointRunning, committer: any EventCommitting,
        ingestBudget: ByteBudget
    ) {
        self.verifier = verifier
        self.metrics = metrics
        self.readiness = readiness
        self.databaseAnswers = databaseAnswers
        self.databaseFailures = databaseFailures
        self.usage = usage
        self.authFailuresPerMinute = authFailuresPerMinute
        self.clientAddresses = clientAddresses
        self.accounts = accounts
        self.tokens = tokens
        self.usageStore = usageStore
        self.audit = audit
        self.sources = sources
        self.endpoints = endpoints
        self.sandbox = sandbox
        self.committer = committer
        self.ingestBudget = ingestBudget
    }
}

/// The API's router: middleware in order, health and metrics, and every token-authenticated route.
/// - Parameters:
///   - parts: what the routes need.
public func buildRouter(_ parts: RouterParts) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    if let resolver = parts.clientAddresses {
        router.add(middleware: ClientAddressMiddleware(resolver: resolver))
    }
    router.add(middleware: MetricsMiddleware(metrics: parts.metrics))
    // CORS sits outside ErrorMiddleware so that error responses carry its headers too.
    router.add(middleware: PublicCORSMiddleware())
    router.add(middleware: ErrorMiddleware(routes: parts.routes, mapFailure: parts.databaseFailures))
    HealthController(readiness: parts.readiness, databaseAnswers: parts.databaseAnswers).addRoutes(to: router)
    MetricsController(metrics: parts.metrics).addRoutes(to: router)
    OpenAPIController().addRoutes(to: router)
    if let handler = parts.leakReports {
        TokenLeakController(keys: parts.leakReportKeys, handler: handler).addRoutes(to: router)
    }

    // Everything below needs a verified token: TokenContext cannot be built without one.
    let authenticator = TokenAuthenticator(
        verifier: parts.verifier, metrics: parts.metrics, usage: parts.usage,
        failures: FailureLimiter(limit: parts.authFailuresPerMinute), limiter: parts.rateLimiter, trips: parts.trips)
    let api = router.group("/api").add(middleware: authenticator).group(context: TokenContext.self)
    AccountController(accounts: parts.accounts).addRoutes(to: api)
    AccessTokenController(
        tokens: parts.tokens, usage: parts.usageStore, revocations: parts.revocations, sources: parts.sources, endpoints: parts.endpoints
    ).addRoutes(to: api)
    AuditController(audit: parts.audit).addRoutes(to: api)
    SourceController(sources: parts.sources).addRoutes(to: api)
    EndpointController(endpoints: parts.endpoints).addRoutes(to: api)
    if let webhooks = parts.webhooks { WebhookController(webhooks: webhooks).addRoutes(to: api) }
    // Queries take an optional token: an endpoint with enable_auth false needs none.
    let queries = router.group("/api").add(middleware: authenticator)
    QueryController(endpoints: parts.endpoints, sandbox: parts.sandbox).addRoutes(to: queries)
    let ingest = IngestController(
        sources: parts.sources, committer: parts.committer, budget: parts.ingestBudget, limiter: parts.rateLimiter, usage: parts.usage)
    // Every prefix (Logflare's clients also post to /logs at the root) with every integration suffix.
    let root = router.group().add(middleware: authenticator).group(context: TokenContext.self)
    ingest.addRoutes(to: root, prefixes: IngestRoute.prefixes)
    return router
}

/// The HTTP/1.1 server Keyflare runs: Hummingbird's, with the slow-client deadlines.
/// - Parameters:
///   - headerTimeout: longest wait for a request head.
///   - idleTimeout: longest an idle keep-alive connection stays open.
///   - minBodyRate: slowest body accepted, in bytes a second (0: none).
public func keyflareHTTPServer(headerTimeout: Duration, idleTimeout: Duration, minBodyRate: Int) -> HTTPServerBuilder {
    let header = TimeAmount.nanoseconds(Int64(headerTimeout.components.seconds) * 1_000_000_000 + headerTimeout.components.attoseconds / 1_000_000_000)
    let idle = TimeAmount.nanoseconds(Int64(idleTimeout.components.seconds) * 1_000_000_000 + idleTimeout.components.attoseconds / 1_000_000_000)
    return .http1(configuration: .init(
        additionalChannelHandlers: [SlowClientHandler(headerTimeout: header, idleTimeout: idle, minBodyRate: minBodyRate)],
        idleTimeout: idle))
}
