import ArgumentParser
import Foundation
import KeyflareCore
import KeyflareHTTP
import KeyflareServer
import KeyflareWeb
import Logging
import ServiceLifecycle

/// `keyflare serve`: run the HTTP API.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the HTTP API.",
        discussion: "Refuses to start while migrations are pending, unless --migrate is given."
    )

    @OptionGroup var database: DatabaseOptions

    @Option(help: "Address to listen on (default: $KEYFLARE_HOST, else 127.0.0.1).")
    var host: String?

    @Option(help: "Port to listen on (default: $KEYFLARE_PORT, else 4000).")
    var port: Int?

    @Flag(help: "Apply pending migrations before serving.")
    var migrate = false

    func validate() throws {
        if let port, !(0...65535).contains(port) { throw ValidationError("--port must be from 0 to 65535") }
    }

    func run() async throws {
        try await reportingFailures {
            var configuration = try database.configuration()
            if let host { configuration.host = host }
            if let port { configuration.port = port }
            LoggingSetup.bootstrap(configuration)
            let logger = Logger(label: "keyflare")
            let app = try KeyflareApp(
                configuration: configuration, migrate: migrate, logger: logger, installers: [WebConsole.install])
            // The drainer is listed last, so graceful shutdown reaches it first: /readyz goes to 503
            // and the instance keeps serving for KEYFLARE_DRAIN_SECONDS before the application stops.
            let group = ServiceGroup(
                configuration: .init(
                    services: [app.application, Drainer(readiness: app.readiness, seconds: configuration.drainSeconds, logger: logger)],
                    gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
        }
    }
}
