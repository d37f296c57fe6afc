import Dispatch
import Logging
import NIOPosix
import ServiceLifecycle
import PQ
import Synchronization

/// A bounded pool of connections whose blocking libpq calls run on the pool's own threads.
///
/// - At most `maxConnections` are open; further borrowers wait in FIFO order.
/// - A connection is health-checked when it is borrowed (`Connection.checkHealth`, no round trip) and
///   replaced by a fresh one if it died; one that comes back broken or inside a transaction is closed.
/// - As a `Service` it closes every connection on graceful shutdown.
public final class Pool: Service, Sendable {
    /// How a pool connects and how large it may grow.
    public struct Configuration: Sendable {
        /// The libpq URI or conninfo string.
        public var conninfo: String
        /// Upper bound of open connections (and of pool threads).
        public var maxConnections: Int
        /// Extra libpq settings that override `conninfo` (a user and password, an application name).
        public var options: [(String, String)]
        /// Longest a borrower waits for a connection before `PQError(.poolExhausted)`; nil waits as
        /// long as it takes.
        public var acquireTimeout: Duration?
        /// Most borrowers waiting at once; one more is refused at once with `.poolExhausted`.
        public var maxWaiters: Int

        /// - Parameters:
        ///   - conninfo: libpq URI or conninfo string.
        ///   - maxConnections: upper bound of open connections.
        ///   - options: libpq settings that override `conninfo`.
        ///   - acquireTimeout: longest wait for a connection; nil for no limit.
        ///   - maxWaiters: most borrowers waiting at once.
        public init(
            conninfo: String, maxConnections: Int = 10, options: [(String, String)] = [], acquireTimeout: Duration? = nil,
            maxWaiters: Int = 10_000
        ) {
            self.conninfo = conninfo
            self.maxConnections = max(1, maxConnections)
            self.options = options
            self.acquireTimeout = acquireTimeout
            self.maxWaiters = max(0, maxWaiters)
        }
    }

    private enum Lease {
        case connection(Connection)
        /// The borrower owns a slot and must open its own connection.
        case slot
    }

    private struct State {
        var idle: [Connection] = []
        var open = 0
        var waiters: [(id: UInt64, continuation: CheckedContinuation<Lease, any Error>)] = []
        var nextWaiterID: UInt64 = 0
        var closed = false
    }

    /// The configuration the pool was made with.
    public let configuration: Configuration
    private let state = Mutex(State())
    private let threads: NIOThreadPool
    private let logger: Logger

    /// Creates a pool; connections are opened lazily, on first use.
    /// - Parameters:
    ///   - configuration: where to connect and how many connections at most.
    ///   - logger: where connection failures are reported.
    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.threads = NIOThreadPool(numberOfThreads: configuration.maxConnections)
        threads.start()
    }

    /// Runs a blocking closure with a connection, on a pool thread.
    /// - Parameters:
    ///   - body: the work; it runs on a pool thread and may block.
    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        let lease = try await acquire()
        let conninfo = configuration.conninfo
        let options = configuration.options
        let (connection, outcome): (Connection?, Result<T, any Error>)
        do {
            (connection, outcome) = try await threads.runIfActive { () -> (Connection?, Result<T, any Error>) in
                var connection: Connection
                switch lease {
                case .connection(let existing):
                    if existing.checkHealth() {
                        connection = existing
                    } else {
                        existing.close()
                        do { connection = try Connection.connect(conninfo, options: options) } catch { return (nil, .failure(error)) }
                    }
                case .slot:
                    do { connection = try Connection.connect(conninfo, options: options) } catch { return (nil, .failure(error)) }
                }
                return (connection, Result { try body(connection) })
            }
        } catch {
            // The thread pool is shut down: the pool is closing.
            if case .connection(let c) = lease { c.close() }
            release(nil)
            throw PQError(.poolClosed, message: "the connection pool is closed")
        }
        release(connection)
        return try outcome.get()
    }

    /// Runs one statement on a pooled connection.
    /// - Parameters:
    ///   - query: the statement and its binds.
    @discardableResult
    public func query(_ query: Query) async throws -> QueryResult {
        try await withConnection { try $0.execute(query) }
    }

    /// Runs `body` inside `BEGIN`/`COMMIT`, rolling back if it throws. The whole transaction runs in
    /// one hop to a pool thread.
    /// - Parameters:
    ///   - body: the transactional work, given the connection; it may block.
    public func withTransaction<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        try await withConnection { try $0.withTransaction(body) }
    }

    /// Closes idle connections now, fails waiting borrowers, and closes busy ones when they return.
    public func close() async {
        let (idle, waiters) = state.withLock { state in
            state.closed = true
            let idle = state.idle
            let waiters = state.waiters
            state.idle = []
            state.open -= idle.count
            state.waiters = []
            return (idle, waiters)
        }
        for connection in idle { connection.close() }
        for waiter in waiters {
            waiter.continuation.resume(throwing: PQError(.poolClosed, message: "the connection pool is closed"))
        }
        try? await threads.shutdownGracefully()
    }

    /// Waits for graceful shutdown, then closes the pool: the database goes last.
    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }

    /// Open connections (idle plus borrowed), for tests and metrics.
    public var openConnections: Int { state.withLock { $0.open } }

    private func acquire() async throws -> Lease {
        enum Decision {
            case lease(Lease)
            case wait
            case closed
        }
        let decision: Decision = state.withLock { state in
            if state.closed { return .closed }
            if let connection = state.idle.popLast() { return .lease(.connection(connection)) }
            if state.open < configuration.maxConnections {
                state.open += 1
                return .lease(.slot)
            }
            return .wait
        }
        switch decision {
        case .lease(let lease): return lease
        case .closed: throw PQError(.poolClosed, message: "the connection pool is closed")
        case .wait:
            return try await withCheckedThrowingContinuation { continuation in
                enum Queued { case waiting(UInt64), leased(Lease), closed, full }
                let queued = state.withLock { state -> Queued in
                    if state.closed { return .closed }
                    // A connection may have come back between the first look and this one: a
                    // release that found no waiter parked it as idle, and nobody would wake us.
                    if let connection = state.idle.popLast() { return .leased(.connection(connection)) }
                    if state.open < configuration.maxConnections {
                        state.open += 1
                        return .leased(.slot)
                    }
                    if state.waiters.count >= configuration.maxWaiters { return .full }
                    state.nextWaiterID += 1
                    state.waiters.append((state.nextWaiterID, continuation))
                    return .waiting(state.nextWaiterID)
                }
                switch queued {
                case .leased(let lease): continuation.resume(returning: lease)
                case .closed: continuation.resume(throwing: PQError(.poolClosed, message: "the connection pool is closed"))
                case .full: continuation.resume(throwing: PQError(.poolExhausted, message: "too many requests are waiting for a connection"))
                case .waiting(let id):
                    guard let timeout = configuration.acquireTimeout else { return }
                    // A timer, not a task: nothing runs while the borrower waits, and the waiter is
                    // removed (and failed) only if no connection reached it first.
                    let nanoseconds = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
                    DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(nanoseconds))) { [weak self] in
                        self?.expire(waiter: id)
                    }
                }
            }
        }
    }

    /// Fails a borrower still waiting after the acquire timeout.
    private func expire(waiter id: UInt64) {
        let expired = state.withLock { state -> CheckedContinuation<Lease, any Error>? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index).continuation
        }
        expired?.resume(throwing: PQError(.poolExhausted, message: "no database connection was free in time"))
    }

    /// Returns a slot to the pool: a healthy idle connection is reused, anything else is closed and its
    /// slot handed to the next waiter (which opens a fresh connection) or freed.
    private func release(_ connection: Connection?) {
        let reusable = connection.map { $0.isIdle } ?? false
        enum Next {
            case handOver(CheckedContinuation<Lease, any Error>, Lease)
            case keep
            case discard
        }
        let next: Next = state.withLock { state in
            if !state.waiters.isEmpty {
                let waiter = state.waiters.removeFirst()
                if reusable, !state.closed, let connection { return .handOver(waiter.continuation, .connection(connection)) }
                return .handOver(waiter.continuation, .slot)
            }
            if reusable, !state.closed, let connection {
                state.idle.append(connection)
                return .keep
            }
            state.open -= 1
            return .discard
        }
        switch next {
        case .handOver(let continuation, let lease):
            if case .slot = lease { connection?.close() }
            continuation.resume(returning: lease)
        case .keep:
            break
        case .discard:
            connection?.close()
        }
    }
}

extension Connection {
    /// Runs `body` between `BEGIN` and `COMMIT`; any thrown error rolls back and is rethrown.
    /// - Parameters:
    ///   - body: the work to do inside the transaction.
    public func withTransaction<T>(_ body: (Connection) throws -> T) throws -> T {
        try execute("BEGIN")
        do {
            let value = try body(self)
            try execute("COMMIT")
            return value
        } catch {
            if isOpen { _ = try? execute("ROLLBACK") }
            throw error
        }
    }
}
