import CoreMetrics
import KeyflareCore
import Metrics
import Prometheus
import Synchronization

/// The metrics one Keyflare instance exports at `/metrics`: swift-metrics instruments backed by a
/// Prometheus registry of this application's own (no global bootstrap, so several applications can
/// share a process, as the tests do).
public final class KeyflareMetrics: Sendable {
    /// The registry `/metrics` renders.
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory

    let cacheHits: Metrics.Counter
    let cacheMisses: Metrics.Counter
    let cacheInvalidations: Metrics.Counter
    let listenerReconnects: Metrics.Counter
    let authDuration: Metrics.Timer

    static let authDurationName = "keyflare_auth_verification_duration_seconds"
    static let requestDurationName = "keyflare_http_request_duration_seconds"

    /// Creates the instruments in a fresh registry.
    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Auth must cost microseconds, so its buckets start at 1 µs; the default ones start at 5 ms.
        factory.durationHistogramBuckets[Self.authDurationName] = [
            .microseconds(1), .microseconds(2), .microseconds(5), .microseconds(10), .microseconds(20),
            .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
            .milliseconds(2.5), .milliseconds(5), .milliseconds(10), .milliseconds(50), .milliseconds(250),
        ]
        factory.durationHistogramBuckets[Self.requestDurationName] = [
            .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
            .milliseconds(2.5), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(10),
        ]
        self.factory = factory
        cacheHits = Metrics.Counter(label: "keyflare_token_cache_hits_total", factory: factory)
        cacheMisses = Metrics.Counter(label: "keyflare_token_cache_misses_total", factory: factory)
        cacheInvalidations = Metrics.Counter(label: "keyflare_token_cache_invalidations_total", factory: factory)
        listenerReconnects = Metrics.Counter(label: "keyflare_listener_reconnects_total", factory: factory)
        authDuration = Metrics.Timer(label: Self.authDurationName, factory: factory)
    }

    /// Counts a verification that the cache answered (`hit`) or that cost a database lookup.
    /// - Parameters:
    ///   - hit: whether the cache answered.
    func recordVerification(hit: Bool) { (hit ? cacheHits : cacheMisses).increment() }

    /// Counts cached tokens dropped by a NOTIFY (one digest, or a whole flush).
    public func recordInvalidation() { cacheInvalidations.increment() }

    /// Counts the token listener coming back after losing its connection.
    public func recordListenerReconnect() { listenerReconnects.increment() }

    /// Records one HTTP request. Label names are always the same three, as Prometheus requires.
    /// - Parameters:
    ///   - route: the matched route template (never the raw path, which may hold ids or keys).
    ///   - method: the HTTP method.
    ///   - status: the response status code.
    ///   - duration: time from the request's arrival to its response.
    func recordRequest(route: String, method: String, status: Int, duration: Duration) {
        let key = RequestKey(route: route, method: method, status: status)
        let instruments = requestInstruments.withLock { cache in
            if let found = cache[key] { return found }
            let dimensions = [("route", route), ("method", method), ("status", String(status))]
            let made = (
                Metrics.Counter(label: "keyflare_http_requests_total", dimensions: dimensions, factory: factory),
                Metrics.Timer(label: Self.requestDurationName, dimensions: dimensions, factory: factory)
            )
            cache[key] = made
            return made
        }
        instruments.0.increment()
        instruments.1.recordNanoseconds(duration.nanoseconds)
    }

    /// Instruments per route, method and status, made once: looking them up in the registry on
    /// every request cost more than the request's own work on the cheapest routes.
    private struct RequestKey: Hashable {
        let route: String
        let method: String
        let status: Int
    }

    private let requestInstruments = Mutex<[RequestKey: (Metrics.Counter, Metrics.Timer)]>([:])

    /// The Prometheus text exposition.
    public func render() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}

extension Duration {
    /// Whole nanoseconds, saturating.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
