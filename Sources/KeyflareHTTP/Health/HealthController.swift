import Hummingbird

/// `/healthz` (the process is alive) and `/readyz` (the database is reachable and the schema current).
struct HealthController<Context: RequestContext> {
    let readiness: Readiness
    /// Whether the database answers a query right now.
    let databaseAnswers: @Sendable () async -> Bool

    struct Status: ResponseEncodable {
        let status: String
    }

    /// `/readyz` stays 200 while the listener is down (requests still work, verified against the
    /// database), but says so.
    struct Ready: Encodable {
        let status: String
        let listener: String
    }

    func addRoutes(to router: Router<Context>) {
        router.get("/healthz") { _, _ in Status(status: "ok") }
        router.get("/readyz") { _, _ -> Response in
            if readiness.isDraining {
                return ErrorResponse.response(status: .serviceUnavailable, message: "draining")
            }
            guard readiness.isReady else {
                return ErrorResponse.response(status: .serviceUnavailable, message: "not ready: waiting for the database")
            }
            guard await databaseAnswers() else {
                return ErrorResponse.response(status: .serviceUnavailable, message: "not ready: the database is unreachable")
            }
            return try JSONResponse.make(Ready(status: "ready", listener: readiness.isListenerUp ? "up" : "down"))
        }
    }
}
