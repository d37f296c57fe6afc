import Hummingbird
import KeyflareCore
import KeyflareStore
import Logging
import PQ

/// Builds the Keyflare HTTP application: routes, middleware and the services it runs (the database
/// pool and start-up). Shared by `keyflare serve` and the tests.
/// - Parameters:
///   - configuration: settings; `databaseURL` is required.
///   - migrate: apply pending migrations at start-up instead of refusing to start.
///   - logger: the application logger.
public func buildApplication(
    configuration: KeyflareConfiguration,
    migrate: Bool = false,
    logger: Logger
) throws -> some ApplicationProtocol {
    guard let databaseURL = configuration.databaseURL else {
        throw ConfigurationError("KEYFLARE_DATABASE_URL is not set")
    }
    try validateDatabaseURL(databaseURL, name: "KEYFLARE_DATABASE_URL")
    let migrations = try Migration.load(from: Migration.locateDirectory(configured: configuration.migrationsDirectory))

    let pool = Pool(configuration: .init(conninfo: databaseURL, maxConnections: configuration.poolSize), logger: logger)
    let readiness = Readiness()
    let startup = DatabaseStartup(
        pool: pool, migrator: Migrator(migrations: migrations, logger: logger), migrate: migrate,
        readiness: readiness, logger: logger
    )

    let tokens = AccessTokenStore(pool: pool)
    let verifier = DatabaseTokenVerifier(store: tokens)
    let sources = SourceStore(pool: pool)

    let router = Router(context: AppRequestContext.self)
    // CORS is outermost so that error responses from ErrorMiddleware carry its headers too.
    router.add(middleware: PublicCORSMiddleware())
    router.add(middleware: ErrorMiddleware())
    HealthController(pool: pool, readiness: readiness).addRoutes(to: router)

    // Everything below needs a verified token: TokenContext cannot be built without one.
    let api = router.group("/api").add(middleware: TokenAuthenticator(verifier: verifier))
        .group(context: TokenContext.self)
    AccountController(accounts: AccountStore(pool: pool)).addRoutes(to: api)
    AccessTokenController(tokens: tokens).addRoutes(to: api)
    SourceController(sources: sources).addRoutes(to: api)
    QueryController(endpoints: EndpointStore(pool: pool)).addRoutes(to: api)
    let ingest = IngestController(sources: sources, events: EventStore(pool: pool))
    ingest.addRoutes(to: api, paths: ["/logs", "/events"])
    // Logflare's clients also post to /logs at the root.
    let root = router.group().add(middleware: TokenAuthenticator(verifier: verifier)).group(context: TokenContext.self)
    ingest.addRoutes(to: root, paths: ["/logs"])

    // The pool is listed first so that graceful shutdown, which runs in reverse order, closes it last:
    // the HTTP server stops first and in-flight requests still reach the database.
    return Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
        services: [pool, startup],
        logger: logger
    )
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
