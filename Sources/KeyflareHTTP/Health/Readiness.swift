import Synchronization

/// Whether this instance has reached its database and checked the schema, for `/readyz`.
public final class Readiness: Sendable {
    private let ready = Atomic<Bool>(false)
    private let listenerUp = Atomic<Bool>(false)
    private let draining = Atomic<Bool>(false)

    /// A new, not-yet-ready state.
    public init() {}

    /// True once start-up has connected and the schema is current.
    public var isReady: Bool { ready.load(ordering: .acquiring) }

    /// Marks the instance ready (or not).
    /// - Parameters:
    ///   - value: the new state.
    public func set(_ value: Bool) { ready.store(value, ordering: .releasing) }

    /// True once shutdown has begun: `/readyz` answers 503 "draining".
    public var isDraining: Bool { draining.load(ordering: .acquiring) }

    /// Marks the instance as draining.
    public func startDraining() { draining.store(true, ordering: .releasing) }

    /// True while the token-invalidation LISTEN connection is listening.
    public var isListenerUp: Bool { listenerUp.load(ordering: .acquiring) }

    /// Records the listener's state.
    /// - Parameters:
    ///   - up: whether it is listening.
    public func setListener(up: Bool) { listenerUp.store(up, ordering: .releasing) }
}
