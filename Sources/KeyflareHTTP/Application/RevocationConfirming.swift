import HTTPTypes
import KeyflareCore
import Logging
import Synchronization

/// Runs a revoke, a disable or a roll without grace so that the answer can say every live instance
/// has dropped the token: the change carries a registered nonce (`RevocationConfirmations`), and
/// afterwards this waits up to `timeout` for the instances alive by their heartbeats to acknowledge
/// it. The answer's `Keyflare-Revocation` header says `confirmed=<n>/<m>`, naming by id any instance
/// that did not acknowledge in time (`; unconfirmed=<id>,…`), which is also logged with its address: an instance
/// whose LISTEN connection is down, and which therefore verifies every token against the database,
/// or one whose connection has stalled without its knowing: an alert makes it stop trusting its
/// cache at its next heartbeat (within a second) and restart that connection.
public struct RevocationConfirming: Sendable {
    /// The answer's header.
    public static let header = HTTPField.Name("Keyflare-Revocation")!

    let confirmations: RevocationConfirmations
    let instances: any LiveInstances
    let timeout: Duration
    let logger: Logger
    let alerts = AlertPacing()

    /// At most one alert per instance per second: a burst of revokes that one instance misses
    /// raises one, which is all it needs.
    final class AlertPacing: Sendable {
        private let last = Mutex<[String: ContinuousClock.Instant]>([:])

        func due(_ ids: [String]) -> [String] {
            let now = ContinuousClock.now
            return last.withLock { last in
                if last.count > 1_000 { last = last.filter { now - $0.value < .seconds(1) } }
                return ids.filter { id in
                    guard last[id].map({ now - $0 >= .seconds(1) }) ?? true else { return false }
                    last[id] = now
                    return true
                }
            }
        }
    }

    /// - Parameters:
    ///   - confirmations: the registry the token listener feeds with acknowledgements.
    ///   - instances: which instances are alive.
    ///   - timeout: the longest wait (zero: no confirmation, no header).
    ///   - logger: where an unconfirmed instance is named.
    public init(confirmations: RevocationConfirmations, instances: any LiveInstances, timeout: Duration, logger: Logger) {
        self.confirmations = confirmations
        self.instances = instances
        self.timeout = timeout
        self.logger = logger
    }

    /// No confirmation at all (a router built without instances, as in tests of routing alone).
    public static func disabled(logger: Logger = Logger(label: "keyflare")) -> RevocationConfirming {
        RevocationConfirming(confirmations: RevocationConfirmations(), instances: NoInstances(), timeout: .zero, logger: logger)
    }

    struct NoInstances: LiveInstances {
        func alive() async throws -> [LiveInstance] { [] }
        func alert(_ ids: [String]) async throws {}
    }

    /// Runs `change` with a nonce to announce (nil when not confirming) and waits for the
    /// acknowledgements. Returns what the change returned and the header's value, if any.
    /// - Parameters:
    ///   - change: the store call; it must pass the nonce on as its `confirmation`.
    public func run<T: Sendable>(_ change: (String?) async throws -> T) async throws -> (T, String?) {
        guard timeout > .zero, let nonce = confirmations.register() else { return (try await change(nil), nil) }
        let value: T
        do {
            value = try await change(nonce)
        } catch {
            confirmations.forget(nonce)
            throw error
        }
        // This instance is among the live ones once it has written one heartbeat; an empty list
        // means the list cannot be trusted.
        guard let alive = try? await instances.alive(), !alive.isEmpty else {
            confirmations.forget(nonce)
            logger.warning("revocation done but not confirmed: the instance list could not be read")
            return (value, "unknown")
        }
        let acked = await confirmations.wait(for: nonce, from: Set(alive.map(\.id)), timeout: timeout)
        let report = RevocationReport(
            confirmed: alive.filter { acked.contains($0.id) }, unconfirmed: alive.filter { !acked.contains($0.id) })
        if !report.unconfirmed.isEmpty {
            do {
                try await instances.alert(alerts.due(report.unconfirmed.map(\.id)))
            } catch {
                logger.warning("could not alert the instances that did not confirm a revocation", metadata: ["error": "\(error)"])
            }
            logger.warning(
                "revocation not acknowledged in time by every instance; those named verify against the database while their listener is down",
                metadata: ["unconfirmed": "\(report.unconfirmed.map { "\($0.id)@\($0.address)" })", "confirmed": "\(report.confirmed.count)"])
        }
        return (value, report.headerValue)
    }
}
