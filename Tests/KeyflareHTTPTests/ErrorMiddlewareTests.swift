import Foundation
import Hummingbird
import HummingbirdTesting
import KeyflareCore
import KeyflareStore
import Logging
import PQ
import Testing

@testable import KeyflareHTTP

/// Every error becomes `{"error", "message"}` with the right status, and internals never leak.
@Suite struct ErrorMiddlewareTests {
    final class LogLines: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func append(_ line: String) { lock.withLock { lines.append(line) } }
        var text: String { lock.withLock { lines.joined(separator: "\n") } }
    }

    func app(capture: LogLines) -> some ApplicationProtocol {
        let logger = Logger(label: "test") { label in JSONLogHandler(label: label) { capture.append($0) } }
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: ErrorMiddleware(mapFailure: { DatabaseErrors.mapped($0) }))
        router.get("/domain") { _, _ -> String in throw KeyflareError.conflict("a source named \"web\" already exists") }
        router.get("/unauthorized") { _, _ -> String in throw KeyflareError.unauthorized("missing access token") }
        router.get("/db-down") { _, _ -> String in throw PQError(.connection, message: "connection refused") }
        router.get("/boom") { _, _ -> String in
            throw PQError(.server, message: "relation \"internal_table\" does not exist", sqlState: "42P01")
        }
        return Application(router: router, logger: logger)
    }

    struct ErrorBody: Decodable {
        let error: String
        let message: String
    }

    @Test func domainErrorsKeepTheirStatusAndMessage() async throws {
        try await app(capture: LogLines()).test(.router) { client in
            try await client.execute(uri: "/domain", method: .get) { response in
                #expect(response.status == .conflict)
                let body = try JSONDecoder().decode(ErrorBody.self, from: Data(buffer: response.body))
                #expect(body.error == "Conflict")
                #expect(body.message == "a source named \"web\" already exists")
            }
            try await client.execute(uri: "/unauthorized", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate] == #"Bearer realm="keyflare""#)
            }
        }
    }

    @Test func lostDatabaseIs503() async throws {
        try await app(capture: LogLines()).test(.router) { client in
            try await client.execute(uri: "/db-down", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                let body = try JSONDecoder().decode(ErrorBody.self, from: Data(buffer: response.body))
                #expect(body.error == "Service Unavailable")
            }
        }
    }

    @Test func unexpectedErrorIsAGeneric500AndLoggedInFull() async throws {
        let capture = LogLines()
        try await app(capture: capture).test(.router) { client in
            try await client.execute(uri: "/boom", method: .get) { response in
                #expect(response.status == .internalServerError)
                let text = String(buffer: response.body)
                #expect(text == #"{"error":"Internal Server Error","message":"an unexpected error occurred"}"#)
                #expect(!text.contains("internal_table"))
            }
        }
        #expect(capture.text.contains("internal_table"))
        #expect(capture.text.contains("42P01"))
    }
}
