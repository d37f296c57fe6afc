import Foundation
import Hummingbird
import HummingbirdTesting
import KeyflareCore
import KeyflareHTTP
import Logging
import Testing

/// HTTP behaviour that needs no database: the app is pointed at a port nothing listens on.
@Suite struct HealthTests {
    static let migrations = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("migrations").path

    func unreachableDatabaseApp() throws -> some ApplicationProtocol {
        var configuration = KeyflareConfiguration()
        configuration.databaseURL = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"
        configuration.migrationsDirectory = Self.migrations
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return try buildApplication(configuration: configuration, logger: logger)
    }

    struct ErrorBody: Decodable, Equatable {
        let error: String
        let message: String
    }

    @Test func healthzAnswersWithoutADatabase() async throws {
        try await unreachableDatabaseApp().test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == #"{"status":"ok"}"#)
            }
        }
    }

    @Test func readyzIs503WithJSONWhileTheDatabaseIsDown() async throws {
        try await unreachableDatabaseApp().test(.router) { client in
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
                let body = try JSONDecoder().decode(ErrorBody.self, from: Data(buffer: response.body))
                #expect(body.error == "Service Unavailable")
                #expect(body.message.contains("database"))
            }
        }
    }

    @Test func unknownRouteIsJSON404WithoutTheQueryString() async throws {
        try await unreachableDatabaseApp().test(.router) { client in
            try await client.execute(uri: "/no/such/route?api_key=kf_prv_secret", method: .get) { response in
                #expect(response.status == .notFound)
                let body = try JSONDecoder().decode(ErrorBody.self, from: Data(buffer: response.body))
                #expect(body.error == "Not Found")
                #expect(body.message == "no route matches GET /no/such/route")
                #expect(!String(buffer: response.body).contains("kf_prv_secret"))
            }
        }
    }

    @Test func malformedDatabaseURLIsOneLineWithoutTheURL() throws {
        var configuration = KeyflareConfiguration()
        configuration.databaseURL = "postgresql://user:s3cret pass@localhost:notaport/db"
        configuration.migrationsDirectory = Self.migrations
        do {
            _ = try buildApplication(configuration: configuration, logger: Logger(label: "test"))
            Issue.record("expected a configuration error")
        } catch let error as ConfigurationError {
            #expect(error.message.hasPrefix("KEYFLARE_DATABASE_URL is malformed"))
            #expect(!error.message.contains("s3cret"))
            #expect(!error.message.contains("\n"))
        }
    }
}
