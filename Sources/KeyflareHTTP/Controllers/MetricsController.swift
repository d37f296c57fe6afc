import Hummingbird
import NIOCore

/// `GET /metrics`: Prometheus text format. It carries counts and timings only, never a token or an
/// account name, and like `/healthz` needs no token; expose it only where scrapers can reach it.
struct MetricsController<Context: RequestContext> {
    let metrics: KeyflareMetrics

    func addRoutes(to router: Router<Context>) {
        router.get("/metrics") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.render()))
            )
        }
    }
}
