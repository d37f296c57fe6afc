import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeyflareCore
import KeyflareHTTP
import KeyflareServer
import KeyflareStore
import KeyflareWeb
import Logging
import PQ
import PQServices

/// A migrated database of its own, a Keyflare application on it, and shortcuts to make accounts,
/// sources, endpoints and tokens directly in the stores.
struct TestApp {
    let db: TestDatabase
    let pool: Pool
    let log = LogCapture()

    static func make() async throws -> TestApp {
        let db = try await TestDatabase.migrated()
        return TestApp(db: db, pool: db.pool())
    }

    /// The application, logging everything down to trace into `log`.
    func application() throws -> some ApplicationProtocol {
        try instance().application
    }

    /// A whole instance (application, cache, readiness), with settings adjusted by `adjust`.
    func instance(
        pauseBeforeCacheFill: (@Sendable () async -> Void)? = nil,
        configure adjust: (inout KeyflareConfiguration) -> Void = { _ in }
    ) throws -> KeyflareApp {
        var configuration = KeyflareConfiguration()
        configuration.databaseURL = db.url
        configuration.migrationsDirectory = TestDatabase.migrationsDirectory
        configuration.poolSize = 8
        adjust(&configuration)
        let capture = log
        var logger = Logger(label: "keyflare") { label in JSONLogHandler(label: label) { capture.append($0) } }
        logger.logLevel = .trace
        return try KeyflareApp(
            configuration: configuration, logger: logger, pauseBeforeCacheFill: pauseBeforeCacheFill,
            installers: [WebConsole.install])
    }

    /// A fault-injecting proxy in front of this test's database server.
    func proxy(readsBackendMessages: Bool = false) throws -> TCPProxy {
        guard let port = URLComponents(string: db.url)?.port else {
            throw KeyflareProcess.CLIError("the test database URL has no port")
        }
        return try TCPProxy(upstreamPort: port, readsBackendMessages: readsBackendMessages)
    }

    /// The backend pid of an instance's LISTEN connection, once it is connected.
    func listenerPID(of app: KeyflareApp) async throws -> Int? {
        try await pool.query(
            "SELECT pid FROM pg_stat_activity WHERE application_name = \("keyflare-listener-\(app.instanceID)")"
        ).first?.decode("pid", as: Int.self)
    }

    func close() async { await pool.close() }

    /// The number `query` counts (it must select `count(*) AS n`).
    func count(_ query: Query) async throws -> Int {
        try await pool.query(query).first!.decode("n", as: Int.self)
    }

    /// A new account; returns its id and a management token.
    func account(_ name: String = "Acme") async throws -> (id: UUID, token: String) {
        let created = try await AccountStore(pool: pool).create(
            name: name, email: "\(UUID().uuidString.prefix(8))@example.test", passwordHash: nil
        )
        return (created.account.id, created.managementToken)
    }

    func source(_ name: String, account: UUID) async throws -> UUID {
        try await SourceStore(pool: pool).create(name: name, accountID: account, actor: .operator).id
    }

    /// An endpoint row (the endpoints API arrives with its own issue).
    func endpoint(_ name: String, account: UUID, enableAuth: Bool = true) async throws -> UUID {
        try await pool.query(
            """
            INSERT INTO endpoints (account_id, name, sql, enable_auth) VALUES (\(account), \(name), \("select 1"), \(enableAuth))
            RETURNING id
            """
        ).first!.decode("id")
    }

    func token(_ scopes: [Scope], account: UUID, expiresAt: Date? = nil) async throws -> (id: UUID, secret: String) {
        let (token, secret) = try await AccessTokenStore(pool: pool).create(
            accountID: account, description: "test", scopes: scopes, expiresAt: expiresAt, actor: .operator
        )
        return (token.id, secret)
    }

    func events(_ events: [IngestEvent], source: UUID, account: UUID) async throws {
        try await EventStore(pool: pool).insert(IngestBatch(events: events), sourceID: source, accountID: account)
    }

    func eventCount(source: UUID) async throws -> Int {
        try await EventStore(pool: pool).count(sourceID: source)
    }
}

/// Collects log lines written by the application.
final class LogCapture: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var text: String { lock.withLock { lines.joined(separator: "\n") } }
    var count: Int { lock.withLock { lines.count } }
}

extension TestClientProtocol {
    /// Sends a request and returns status, headers and body text.
    @discardableResult
    func send(
        _ uri: String, method: HTTPRequest.Method = .get, headers: HTTPFields = [:], body: String? = nil
    ) async throws -> (status: HTTPResponse.Status, headers: HTTPFields, body: String) {
        try await execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) {
            ($0.status, $0.headers, String(buffer: $0.body))
        }
    }
}

extension HTTPFields {
    static func apiKey(_ token: String) -> HTTPFields { [HTTPField.Name("X-API-KEY")!: token] }
    static func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)"] }
}

/// Parses a JSON object body.
func json(_ text: String) throws -> [String: Any] {
    guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
        throw KeyflareProcess.CLIError("not a JSON object: \(text)")
    }
    return object
}

/// Parses a JSON array body.
func jsonArray(_ text: String) throws -> [[String: Any]] {
    guard let array = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] else {
        throw KeyflareProcess.CLIError("not a JSON array: \(text)")
    }
    return array
}
