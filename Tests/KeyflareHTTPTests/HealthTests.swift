import Foundation
import Hummingbird
import HummingbirdTesting
import KeyflareCore
import NIOCore

@testable import KeyflareHTTP
import Logging
import Testing

/// HTTP behaviour that needs no database: the health routes and the error middleware, on a router
/// whose database check says "unreachable" and whose instance is ready otherwise.
@Suite struct HealthTests {
    func unreachableDatabaseApp() throws -> some ApplicationProtocol {
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: ErrorMiddleware(mapFailure: { _ in nil }))
        let readiness = Readiness()
        readiness.set(true)
        HealthController(readiness: readiness, databaseAnswers: { false }).addRoutes(to: router)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return Application(router: router, logger: logger)
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
}
