import Foundation
import Glibc
import Logging
import PQ
import ServiceLifecycle
import Synchronization

/// What a `Listener` reports.
public enum ListenerEvent: Sendable, Equatable {
    /// The listener (re)connected and is listening on every channel. Notifications sent while it was
    /// disconnected are lost, so a consumer that caches state should drop it on this event.
    case connected
    /// The connection was lost or found dead; nothing is being received until the next `.connected`.
    case disconnected
    /// A notification arrived.
    case notification(PQ.Notification)
}

/// LISTEN on a dedicated connection, delivered as an `AsyncSequence`.
///
/// The connection lives on a thread of the listener's own, which blocks in `poll()` on the libpq socket
/// and on a wake-up pipe: no sleep polling, and `stop()` takes effect at once. What to do next is
/// decided by `ListenerStateMachine`; this loop only carries it out. A lost connection is
/// re-established with exponential backoff, and every channel is listened to again.
///
/// A half-open connection (a peer or middlebox that silently stopped forwarding) looks healthy to the
/// kernel for hours, so the listener finds it itself: TCP keepalives and `tcp_user_timeout` on the
/// socket, and a heartbeat every quarter of `detectionTimeout`. A heartbeat unanswered for half of it
/// ends the connection, so a dead one is noticed within `detectionTimeout`.
///
/// The heartbeat is a probe through the notification path itself, not a `SELECT 1`: the listener
/// also LISTENs on a channel of its own and sends itself `pg_notify` on it; only the notification
/// coming back counts as an answer. A connection that answers queries but does not deliver
/// notifications — LISTEN through a transaction-pooling PgBouncer, or a hot standby — therefore
/// never reports `.connected`, instead of looking healthy while missing every NOTIFY.
///
/// As a `Service`, `run()` owns the thread: it starts it, and returns only after the thread has
/// closed its connection and ended, on graceful shutdown or on cancellation alike.
public final class Listener: Service, Sendable {
    /// How the listener connects and how fast it notices a dead connection.
    public struct Configuration: Sendable {
        /// libpq URI or conninfo (never a transaction-pooling PgBouncer).
        public var conninfo: String
        /// Channel names; quoted with `PQescapeIdentifier`.
        public var channels: [String]
        /// Upper bound, in seconds, on how long a silently dead connection goes unnoticed.
        public var detectionTimeout: Double
        /// First and longest wait between reconnect attempts, in seconds.
        public var backoff: ClosedRange<Double>
        /// Shown in `pg_stat_activity.application_name`.
        public var applicationName: String

        /// - Parameters:
        ///   - conninfo: libpq URI or conninfo.
        ///   - channels: channels to LISTEN on.
        ///   - detectionTimeout: seconds within which a dead connection is noticed.
        ///   - backoff: reconnect backoff bounds, in seconds.
        ///   - applicationName: the name the connection reports to the server.
        public init(
            conninfo: String, channels: [String], detectionTimeout: Double = 10, backoff: ClosedRange<Double> = 0.05...5,
            applicationName: String = "keyflare-listener"
        ) {
            self.conninfo = conninfo
            self.channels = channels
            self.detectionTimeout = max(0.2, detectionTimeout)
            self.backoff = backoff
            self.applicationName = applicationName
        }

        var heartbeatInterval: Duration { .milliseconds(Int(detectionTimeout * 250)) }
        var heartbeatTimeout: Duration { .milliseconds(Int(detectionTimeout * 500)) }

        var connectionOptions: [(String, String)] {
            let idle = max(1, Int(detectionTimeout / 4))
            return [
                ("application_name", applicationName),
                ("connect_timeout", String(max(2, Int(detectionTimeout.rounded(.up))))),
                ("keepalives", "1"),
                ("keepalives_idle", String(idle)),
                ("keepalives_interval", String(idle)),
                ("keepalives_count", "2"),
                ("tcp_user_timeout", String(Int(detectionTimeout * 1000))),
            ]
        }
    }

    /// The events, in order. There is one consumer; the sequence finishes after `stop()`.
    public let events: AsyncStream<ListenerEvent>

    /// The configuration the listener was made with.
    public let configuration: Configuration
    private let continuation: AsyncStream<ListenerEvent>.Continuation
    private let logger: Logger
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let control = Mutex(Control())
    /// This listener's own channel for its heartbeat probes (letters, digits and underscores only).
    let probeChannel = "pq_probe_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()

    private struct Control {
        var started = false
        var stopped = false
        var ended = false
        /// Whoever waits for the thread to end (`run()`).
        var endWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// Creates a listener; `run()` it as a service, or call `start()` and `stop()`.
    /// - Parameters:
    ///   - configuration: where to connect, what to listen on, and how fast to notice a dead connection.
    ///   - logger: where connection problems are reported.
    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        (events, continuation) = AsyncStream.makeStream(of: ListenerEvent.self, bufferingPolicy: .unbounded)
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) != 0 { fatalError("pipe() failed: \(errno)") }
        _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
        _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)
        wakeRead = fds[0]
        wakeWrite = fds[1]
    }

    /// Creates a listener with default detection and backoff settings.
    /// - Parameters:
    ///   - conninfo: libpq URI or conninfo.
    ///   - channels: channels to LISTEN on.
    ///   - logger: where connection problems are reported.
    public convenience init(conninfo: String, channels: [String], logger: Logger) {
        self.init(configuration: Configuration(conninfo: conninfo, channels: channels), logger: logger)
    }

    deinit {
        Glibc.close(wakeRead)
        Glibc.close(wakeWrite)
    }

    /// Runs the listener thread until graceful shutdown or cancellation, and returns once the thread
    /// has ended. Consume `events` in another task.
    public func run() async {
        start()
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await ended()
            } onGracefulShutdown: {
                self.stop()
            }
        } onCancel: {
            self.stop()
        }
    }

    /// Starts the listener thread. Calling it twice has no further effect.
    public func start() {
        let start = control.withLock { control -> Bool in
            guard !control.started, !control.stopped else { return false }
            control.started = true
            return true
        }
        guard start else { return }
        let thread = Thread { [self] in
            self.loop()
            let waiters = control.withLock { control -> [CheckedContinuation<Void, Never>] in
                control.ended = true
                defer { control.endWaiters = [] }
                return control.endWaiters
            }
            for waiter in waiters { waiter.resume() }
        }
        thread.name = "keyflare-listen"
        thread.start()
    }

    /// Stops the listener: its thread closes the connection and the event sequence finishes.
    public func stop() {
        let wasStarted = control.withLock { control -> Bool in
            control.stopped = true
            return control.started
        }
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
        if !wasStarted { finishUnstarted() }
    }

    /// Returns once the thread has ended (at once if it never started and was stopped).
    func ended() async {
        await withCheckedContinuation { waiter in
            let now = control.withLock { control -> Bool in
                if control.ended || (!control.started && control.stopped) { return true }
                control.endWaiters.append(waiter)
                return false
            }
            if now { waiter.resume() }
        }
    }

    private func finishUnstarted() {
        continuation.finish()
        let waiters = control.withLock { control -> [CheckedContinuation<Void, Never>] in
            defer { control.endWaiters = [] }
            return control.endWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    private var isStopped: Bool { control.withLock { $0.stopped } }

    /// Carries out the state machine's actions until it says `finish`.
    private func loop() {
        let clock = ContinuousClock()
        var machine = ListenerStateMachine(
            probeChannel: probeChannel, heartbeatInterval: configuration.heartbeatInterval,
            heartbeatTimeout: configuration.heartbeatTimeout, backoff: configuration.backoff)
        var connection: Connection?
        var pending = machine.start()
        let probe = "SELECT pg_notify('\(probeChannel)', '')"
        while !pending.isEmpty {
            let action = pending.removeFirst()
            if isStopped, action != .finish, action != .close {
                pending = machine.stop()
                continue
            }
            switch action {
            case .connect:
                do {
                    let opened = try Connection.connect(configuration.conninfo, options: configuration.connectionOptions)
                    connection = opened
                    for channel in configuration.channels + [probeChannel] {
                        try opened.execute(Query(unsafeSQL: "LISTEN " + opened.escapeIdentifier(channel)))
                    }
                    pending = machine.connected(at: clock.now)
                } catch {
                    connection?.close()
                    connection = nil
                    logger.warning("listener could not connect; retrying", metadata: ["error": "\(error)"])
                    pending = machine.connectFailed()
                }
            case .sendProbe:
                do {
                    try connection?.send(unsafeSQL: probe)
                    pending = machine.probeSent(at: clock.now)
                } catch {
                    pending = machine.connectionFailed()
                }
            case .wait(let deadline):
                guard let connection else { pending = machine.connectionFailed(); continue }
                pending = wait(on: connection, until: deadline, clock: clock, machine: &machine)
            case .backOff(let seconds, let reason):
                log(reason, retryIn: seconds)
                if seconds > 0 { sleep(seconds: seconds) }
                pending = isStopped ? machine.stop() : machine.backedOff()
            case .announceConnected:
                continuation.yield(.connected)
            case .announceDisconnected:
                continuation.yield(.disconnected)
            case .deliver(let notification):
                continuation.yield(.notification(notification))
            case .close:
                connection?.close()
                connection = nil
            case .finish:
                connection?.close()
                connection = nil
                continuation.finish()
                return
            }
        }
    }

    /// Polls the connection's socket and the wake-up pipe until `deadline`, and reports to the
    /// machine what happened.
    private func wait(
        on connection: Connection, until deadline: ContinuousClock.Instant, clock: ContinuousClock,
        machine: inout ListenerStateMachine
    ) -> [ListenerStateMachine.Action] {
        // Notifications libpq buffered while it read something else (the LISTEN replies) first.
        let buffered = connection.notifications()
        if !buffered.isEmpty { return machine.received(buffered, resultsDrained: false, at: clock.now) }
        let remaining = clock.now.duration(to: deadline)
        let timeoutMs = max(0, Int32(remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000) + 1)
        var fds = [
            pollfd(fd: connection.socket, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
        ]
        let ready = poll(&fds, 2, timeoutMs)
        if ready < 0 {
            return errno == EINTR ? machine.waited(until: clock.now) : machine.connectionFailed()
        }
        if fds[1].revents != 0 {
            drainWakePipe()
            if isStopped { return machine.stop() }
        }
        guard fds[0].revents != 0 else { return machine.waited(until: clock.now) }
        do {
            try connection.consumeInput()
        } catch {
            return machine.connectionFailed()
        }
        let drained = connection.drainResults()
        return machine.received(connection.notifications(), resultsDrained: drained, at: clock.now)
    }

    private func log(_ reason: ListenerStateMachine.RetryReason, retryIn seconds: Double) {
        let metadata: Logger.Metadata = ["retry_in_s": "\(seconds)"]
        switch reason {
        case .couldNotConnect:
            break  // logged where the error is known
        case .lost:
            logger.warning("listener connection lost; reconnecting")
        case .lostBeforeConfirmed:
            logger.warning("listener connection lost before it was confirmed; retrying", metadata: metadata)
        case .probeUnanswered:
            logger.warning(
                "listener connected, but its probe notification never came back; is LISTEN going through a transaction-pooling PgBouncer or to a standby? retrying",
                metadata: metadata)
        case .heartbeatUnanswered:
            logger.warning("listener heartbeat unanswered; treating the connection as dead")
        }
    }

    /// Blocks for up to `seconds`, returning early if stop() was called.
    private func sleep(seconds: Double) {
        var fd = pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)
        _ = poll(&fd, 1, Int32(seconds * 1000))
        drainWakePipe()
    }

    private func drainWakePipe() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(wakeRead, &buffer, buffer.count) > 0 {}
    }
}
