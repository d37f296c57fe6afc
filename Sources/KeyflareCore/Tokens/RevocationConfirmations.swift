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
/// Only registered nonces collect acknowledgements, at most `maxWaiting` at once and `maxInstances`
/// each, so a flood of acknowledgements grows nothing. Anyone who can log in to the database can
/// NOTIFY, so a database role could forge an acknowledgement; tenants cannot (their SQL runs in a
/// transaction that is rolled back, and notifications are sent only on commit).
public final class RevocationConfirmations: Sendable {
    /// Registered nonces at once; a revoke past it is answered without waiting.
    public static let maxWaiting = 10_000
    /// Instances one nonce records (more than any deployment runs; a flood of forged ids stops here).
    public static let maxInstances = 256
    /// The prefix of the marker on the token channel.
    public static let markerPrefix = "confirm:"

    private struct Waiter {
        var acked: Set<String> = []
        /// Set once the revoke knows whom it waits for.
        var expected: Set<String>?
        var continuation: CheckedContinuation<Void, Never>?
        /// The timeout passed before the wait began sleeping.
        var timedOut = false
    }

    private let waiting = Mutex<[String: Waiter]>([:])

    /// An empty registry.
    public init() {}

    /// A fresh nonce, registered; nil when `maxWaiting` are waiting already.
    public func register() -> String? {
        let nonce = UUID().uuidString.lowercased()
        return waiting.withLock { waiting in
            guard waiting.count < Self.maxWaiting else { return nil }
            waiting[nonce] = Waiter()
            return nonce
        }
    }

    /// Records an acknowledgement from the channel; ignored unless the nonce is registered. Wakes the
    /// waiting revoke once every instance it waits for has answered.
    /// - Parameters:
    ///   - payload: `<nonce> <instance id>`.
    public func acknowledged(_ payload: String) {
        let parts = payload.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[1].utf8.count <= 64 else { return }
        let nonce = String(parts[0])
        let ready = waiting.withLock { waiting -> CheckedContinuation<Void, Never>? in
            guard var waiter = waiting[nonce], waiter.acked.count < Self.maxInstances else { return nil }
            waiter.acked.insert(String(parts[1]))
            var ready: CheckedContinuation<Void, Never>?
            if let expected = waiter.expected, expected.isSubset(of: waiter.acked) {
                ready = waiter.continuation
                waiter.continuation = nil
            }
            waiting[nonce] = waiter
            return ready
        }
        ready?.resume()
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
    /// forgets the nonce. Returns those that acknowledged. The wait sleeps: an acknowledgement, or
    /// the timeout, wakes it.
    /// - Parameters:
    ///   - nonce: what `register()` returned.
    ///   - instances: the instances seen alive.
    ///   - timeout: the longest wait.
    public func wait(for nonce: String, from instances: Set<String>, timeout: Duration) async -> Set<String> {
        let timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            self?.wake(nonce)
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = waiting.withLock { waiting -> Bool in
                guard var waiter = waiting[nonce] else { return true }
                if waiter.timedOut || instances.isSubset(of: waiter.acked) { return true }
                waiter.expected = instances
                waiter.continuation = continuation
                waiting[nonce] = waiter
                return false
            }
            if done { continuation.resume() }
        }
        timer.cancel()
        let acked = waiting.withLock { $0.removeValue(forKey: nonce)?.acked ?? [] }
        return acked.intersection(instances)
    }

    /// Ends a wait early (its timeout).
    private func wake(_ nonce: String) {
        let continuation = waiting.withLock { waiting -> CheckedContinuation<Void, Never>? in
            let continuation = waiting[nonce]?.continuation
            waiting[nonce]?.continuation = nil
            waiting[nonce]?.timedOut = true
            return continuation
        }
        continuation?.resume()
    }

    /// Forgets a nonce that will not be waited for (its change failed).
    /// - Parameters:
    ///   - nonce: what `register()` returned.
    public func forget(_ nonce: String) {
        let continuation = waiting.withLock { $0.removeValue(forKey: nonce)?.continuation }
        continuation?.resume()
    }

    /// Nonces registered now (for tests).
    public var count: Int { waiting.withLock { $0.count } }
}

/// Acknowledgements waiting to be sent, so that one instance sends them in batches, one query for
/// every marker that arrived meanwhile, however many revokes run at once. Bounded: past
/// `capacity` a marker goes unacknowledged, and its revoke reports this instance as unconfirmed.
public final class AcknowledgementQueue: Sendable {
    /// Most nonces held at once.
    public static let capacity = 10_000

    private let pending = Mutex<[String]>([])
    private let doorbell: AsyncStream<Void>
    private let ring: AsyncStream<Void>.Continuation

    public init() {
        (doorbell, ring) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues a nonce to acknowledge; false when the queue is full.
    @discardableResult
    public func enqueue(_ nonce: String) -> Bool {
        let added = pending.withLock { pending -> Bool in
            guard pending.count < Self.capacity else { return false }
            pending.append(nonce)
            return true
        }
        if added { ring.yield() }
        return added
    }

    /// Sends batches with `send` until the task is cancelled or `finish()` is called.
    /// - Parameters:
    ///   - send: sends one batch of nonces.
    public func run(_ send: ([String]) async -> Void) async {
        for await _ in doorbell {
            let batch = pending.withLock { pending -> [String] in
                let batch = pending
                pending = []
                return batch
            }
            if !batch.isEmpty { await send(batch) }
        }
    }

    /// Ends `run`.
    public func finish() { ring.finish() }
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

/// What a confirmed change reports: `Keyflare-Revocation: confirmed=2/3; unconfirmed=<instance id>`.
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

    /// The header's value: instances by id only, so a tenant learns no address of the deployment
    /// (the log of the revoking instance and `reporting.instances` name the addresses).
    public var headerValue: String {
        var value = "confirmed=\(confirmed.count)/\(confirmed.count + unconfirmed.count)"
        if !unconfirmed.isEmpty {
            value += "; unconfirmed=" + unconfirmed.map(\.id).joined(separator: ",")
        }
        return value
    }
}
