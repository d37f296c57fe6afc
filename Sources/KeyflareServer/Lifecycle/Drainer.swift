import KeyflareHTTP
import Logging
import ServiceLifecycle

/// Graceful shutdown's first step: on SIGTERM `/readyz` turns to 503 "draining" at once, so a load
/// balancer stops sending new requests, while the instance keeps serving for `seconds`; only then
/// does the application shut down (HTTP server, in-flight requests, usage flush, pool, in that order).
public struct Drainer: Service {
    let readiness: Readiness
    let seconds: Double
    let logger: Logger

    /// - Parameters:
    ///   - readiness: the state `/readyz` reports.
    ///   - seconds: how long to keep serving after the signal.
    ///   - logger: where the drain is reported.
    public init(readiness: Readiness, seconds: Double, logger: Logger) {
        self.readiness = readiness
        self.seconds = seconds
        self.logger = logger
    }

    public func run() async throws {
        try? await gracefulShutdown()
        readiness.startDraining()
        logger.info("draining", metadata: ["seconds": "\(seconds)"])
        if seconds > 0 { try? await Task.sleep(for: .seconds(seconds)) }
    }
}
