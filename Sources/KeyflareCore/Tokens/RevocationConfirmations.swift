import Foundation
import Synchronization

/// Confirmed revocation: which instances have acknowledged a change to a token.
///
/// A revoke (or disable, or roll without grace) sends, in its own transaction and after the row's
/// change, a marker notification `confirm:<nonce>` on the token channel. PostgreSQL delivers one
/// transaction's notifications in the order they were sent and transactions in commit order, so an
/// instance that handles the marker has already dropped the token from its cache; it then answers
/// `<nonce> <instance>` on the acknowledgement channel. The revoking instance registers the nonce
/// before the commit (so no acknowledgement can arrive unseen), and waits for the instances it
/// knows to be alive.
///
/// Only registered nonces collect acknowledgements, and at most `maxWaiting` at once, so a flood of
/// acknowledgements (from anyone who can NOTIFY) grows nothing.
public final class RevocationConfirmations: Sendable {
    /// Registered nonces at once; a revoke past it is answered without waiting.
    public static let maxWaiting = 10_000
    /// The prefix of the marker on the token channel.
    public static let markerPrefix = "confirm:"

    private let waiting = Mutex<[String: Set<String>]>([:])

    /// An empty registry.
    public init() {}

    /// A fresh nonce, registered; nil when `maxWaiting` are waiting already.
    public func register() -> String? {
        let nonce = UUID().uuidString.lowercased()
        return waiting.withLock { waiting in
            guard waiting.count < Self.maxWaiting else { return nil }
            waiting[nonce] = []
            return nonce
        }
    }

    /// Records an acknowledgement from the channel; ignored unless the nonce is registered.
    /// - Parameters:
    ///   - payload: `<nonce> <instance id>`.
    public func acknowledged(_ payload: String) {
        let parts = payload.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[1].utf8.count <= 64 else { return }
        let nonce = String(parts[0])
        waiting.withLock { waiting in
            waiting[nonce]?.insert(String(parts[1]))
        }
    }

    /// The nonce of a marker notification on the token channel, if the payload is one.
    /// - Parameters:
    ///   - payload: what the token channel carried.
    public static func nonce(ofMarker payload: String) -> String? {
        guard payload.hasPrefix(markerPrefix) else { return nil }
        let nonce = payload.dropFirst(markerPrefix.count)
        guard nonce.utf8.count == 36, nonce.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) })
        else { return nil }
        return String(nonce)
    }

    /// Waits until every one of `instances` has acknowledged `nonce`, or `timeout` has passed, and
    /// forgets the nonce. Returns those that acknowledged.
    /// - Parameters:
    ///   - nonce: what `register()` returned.
    ///   - instances: the instances seen alive.
    ///   - timeout: the longest wait.
    public func wait(for nonce: String, from instances: Set<String>, timeout: Duration) async -> Set<String> {
        defer { forget(nonce) }
        let deadline = ContinuousClock.now + timeout
        while true {
            let acked = waiting.withLock { $0[nonce] ?? [] }
            if instances.isSubset(of: acked) || ContinuousClock.now >= deadline { return acked.intersection(instances) }
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    /// Forgets a nonce that will not be waited for (its change failed).
    /// - Parameters:
    ///   - nonce: what `register()` returned.
    public func forget(_ nonce: String) {
        _ = waiting.withLock { $0.removeValue(forKey: nonce) }
    }

    /// Nonces registered now (for tests).
    public var count: Int { waiting.withLock { $0.count } }
}

/// An instance as its heartbeat describes it.
public struct LiveInstance: Sendable, Equatable {
    /// Its id.
    public let id: String
    /// Where it serves.
    public let address: String
    /// Whether its token listener was up at its last heartbeat.
    public let listening: Bool

    /// - Parameters:
    ///   - id: its id.
    ///   - address: where it serves.
    ///   - listening: whether its token listener was up.
    public init(id: String, address: String, listening: Bool) {
        self.id = id
        self.address = address
        self.listening = listening
    }
}

/// Which instances are alive, for a revoke to wait for (the instances' heartbeats).
public protocol LiveInstances: Sendable {
    /// The instances heard from in the last few seconds.
    func alive() async throws -> [LiveInstance]
    /// Tells instances that did not acknowledge a revoke in time to stop trusting their caches (they
    /// read it at their next heartbeat).
    /// - Parameters:
    ///   - ids: the instances.
    func alert(_ ids: [String]) async throws
}

/// What a confirmed change reports: `Keyflare-Revocation: confirmed=2/3; unconfirmed=<id>@<address>`.
public struct RevocationReport: Sendable, Equatable {
    /// The instances that acknowledged.
    public let confirmed: [LiveInstance]
    /// Those that did not in time.
    public let unconfirmed: [LiveInstance]

    /// - Parameters:
    ///   - confirmed: the instances that acknowledged.
    ///   - unconfirmed: those that did not in time.
    public init(confirmed: [LiveInstance], unconfirmed: [LiveInstance]) {
        self.confirmed = confirmed
        self.unconfirmed = unconfirmed
    }

    /// The header's value.
    public var headerValue: String {
        var value = "confirmed=\(confirmed.count)/\(confirmed.count + unconfirmed.count)"
        if !unconfirmed.isEmpty {
            value += "; unconfirmed=" + unconfirmed.map { "\($0.id)@\($0.address)" }.joined(separator: ",")
        }
        return value
    }
}
