import Hummingbird
import PQ

/// `/healthz` (the process is alive) and `/readyz` (the database is reachable and the schema current).
struct HealthController<Context: RequestContext> {
    let pool: Pool
    let readiness: Readiness

    struct Status: ResponseEncodable {
        // JSON through Hummingbird's encoder for /healthz, through JSONResponse for /readyz.
        let status: String
    }

    func addRoutes(to router: Router<Context>) {
        router.get("/healthz") { _, _ in Status(status: "ok") }
        router.get("/readyz") { _, _ -> Response in
            guard readiness.isReady else {
                return ErrorResponse.response(status: .serviceUnavailable, message: "not ready: waiting for the database")
            }
            do {
                try await pool.query("SELECT 1")
            } catch {
                return ErrorResponse.response(status: .serviceUnavailable, message: "not ready: the database is unreachable")
            }
            return try JSONResponse.make(Status(status: "ready"))
        }
    }
}
