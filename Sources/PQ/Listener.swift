import Foundation
import Glibc
import Logging
import Synchronization

/// What a `Listener` reports.
public enum ListenerEvent: Sendable, Equatable {
    /// The listener (re)connected and is listening on every channel. Notifications sent while it was
    /// disconnected are lost, so a consumer that caches state should drop it on this event.
    case connected
    /// The connection was lost or found dead; nothing is being received until the next `.connected`.
    case disconnected
    /// A notification arrived.
    case notification(Notification)
}

/// LISTEN on a dedicated connection, delivered as an `AsyncSequence`.
///
/// The connection lives on a thread of the listener's own, which blocks in `poll()` on the libpq socket
/// and on a wake-up pipe: no sleep polling, and `stop()` takes effect at once. A lost connection is
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
public final class Listener: Sendable {
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

        var heartbeatInterval: Double { detectionTimeout / 4 }
        var heartbeatTimeout: Double { detectionTimeout / 2 }

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
    }

    /// Creates a listener; call `start()` to connect.
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

    /// Starts the listener thread. Calling it twice has no further effect.
    public func start() {
        let start = control.withLock { control -> Bool in
            guard !control.started, !control.stopped else { return false }
            control.started = true
            return true
        }
        guard start else { return }
        let thread = Thread { [self] in self.loop() }
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
        if !wasStarted { continuation.finish() }
    }

    private var isStopped: Bool { control.withLock { $0.stopped } }

    private func loop() {
        var delay = configuration.backoff.lowerBound
        while !isStopped {
            let connection: Connection
            do {
                connection = try Connection.connect(configuration.conninfo, options: configuration.connectionOptions)
                for channel in configuration.channels + [probeChannel] {
                    try connection.execute(Query(unsafeSQL: "LISTEN " + connection.escapeIdentifier(channel)))
                }
            } catch {
                logger.warning("listener could not connect; retrying", metadata: ["error": "\(error)", "retry_in_s": "\(delay)"])
                if wait(seconds: delay) { break }
                delay = min(delay * 2, configuration.backoff.upperBound)
                continue
            }
            let (stopped, announced, probeUnanswered) = pump(connection)
            connection.close()
            if stopped { break }
            if announced {
                delay = configuration.backoff.lowerBound
                continuation.yield(.disconnected)
                logger.warning("listener connection lost; reconnecting")
            } else {
                logger.warning(
                    probeUnanswered
                        ? "listener connected, but its probe notification never came back; is LISTEN going through a transaction-pooling PgBouncer or to a standby? retrying"
                        : "listener connection lost before it was confirmed; retrying",
                    metadata: ["retry_in_s": "\(delay)"]
                )
                if wait(seconds: delay) { break }
                delay = min(delay * 2, configuration.backoff.upperBound)
            }
        }
        continuation.finish()
    }

    /// Probes the connection at once and then every heartbeat interval, delivers notifications, and
    /// yields `.connected` when the first probe comes back. Returns when the connection fails or a
    /// probe goes unanswered past the heartbeat timeout (`stopped` false), or stop() is called (true);
    /// `announced` says whether `.connected` was yielded, `probeUnanswered` whether a probe timed out.
    private func pump(_ connection: Connection) -> (stopped: Bool, announced: Bool, probeUnanswered: Bool) {
        let clock = ContinuousClock()
        let probe = "SELECT pg_notify('\(probeChannel)', '')"
        var announced = false
        var probeSentAt: ContinuousClock.Instant?
        var lastAnswered = clock.now
        var resultPending = false

        func deliver() {
            for n in connection.notifications() {
                guard n.channel == probeChannel else {
                    continuation.yield(.notification(n))
                    continue
                }
                if probeSentAt != nil {
                    probeSentAt = nil
                    lastAnswered = clock.now
                }
                if !announced {
                    announced = true
                    continuation.yield(.connected)
                }
            }
        }

        // Waiting on a probe: its notification, or (rarely, after the notification) its result.
        var waitingSince: ContinuousClock.Instant? { probeSentAt ?? (resultPending ? lastAnswered : nil) }

        while true {
            let now = clock.now
            if let sent = waitingSince {
                if now >= sent + .seconds(configuration.heartbeatTimeout) {
                    if announced { logger.warning("listener heartbeat unanswered; treating the connection as dead") }
                    return (isStopped, announced, true)
                }
            } else if !announced || now >= lastAnswered + .seconds(configuration.heartbeatInterval) {
                do {
                    try connection.send(unsafeSQL: probe)
                } catch {
                    return (isStopped, announced, false)
                }
                probeSentAt = now
                resultPending = true
            }
            deliver()
            let deadline = waitingSince.map { $0 + .seconds(configuration.heartbeatTimeout) }
                ?? lastAnswered + .seconds(configuration.heartbeatInterval)
            let remaining = clock.now.duration(to: deadline)
            let timeoutMs = max(0, Int32(remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000) + 1)
            var fds = [
                pollfd(fd: connection.socket, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&fds, 2, timeoutMs)
            if ready < 0 {
                if errno == EINTR { continue }
                return (isStopped, announced, false)
            }
            if fds[1].revents != 0 {
                drainWakePipe()
                if isStopped { return (true, announced, false) }
            }
            if fds[0].revents != 0 {
                do {
                    try connection.consumeInput()
                } catch {
                    return (isStopped, announced, false)
                }
                if resultPending, connection.drainResults() { resultPending = false }
                deliver()
            }
        }
    }

    /// Blocks for up to `seconds`, returning true early if stop() was called.
    private func wait(seconds: Double) -> Bool {
        var fd = pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)
        _ = poll(&fd, 1, Int32(seconds * 1000))
        drainWakePipe()
        return isStopped
    }

    private func drainWakePipe() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(wakeRead, &buffer, buffer.count) > 0 {}
    }
}
