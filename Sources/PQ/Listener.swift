import Foundation
import Glibc
import Logging
import Synchronization

/// What a `Listener` reports.
public enum ListenerEvent: Sendable, Equatable {
    /// The listener (re)connected and is listening on every channel. Notifications sent while it was
    /// disconnected are lost, so a consumer that caches state should drop it on this event.
    case connected
    /// A notification arrived.
    case notification(Notification)
}

/// LISTEN on a dedicated connection, delivered as an `AsyncSequence`.
///
/// The connection lives on a thread of the listener's own, which blocks in `poll()` on the libpq socket
/// and on a wake-up pipe: no sleep polling, and `stop()` takes effect at once. A lost connection is
/// re-established with exponential backoff, and every channel is listened to again.
public final class Listener: Sendable {
    /// The events, in order. There is one consumer; the sequence finishes after `stop()`.
    public let events: AsyncStream<ListenerEvent>

    private let continuation: AsyncStream<ListenerEvent>.Continuation
    private let conninfo: String
    private let channels: [String]
    private let logger: Logger
    private let backoff: ClosedRange<Double>
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let control = Mutex(Control())

    private struct Control {
        var started = false
        var stopped = false
        var thread: Thread?
    }

    /// Creates a listener; call `start()` to connect.
    /// - Parameters:
    ///   - conninfo: libpq URI or conninfo string (never a transaction-pooling PgBouncer).
    ///   - channels: channel names; they are quoted with `PQescapeIdentifier`.
    ///   - backoff: first and longest wait between reconnect attempts, in seconds.
    ///   - logger: where connection problems are reported.
    public init(conninfo: String, channels: [String], backoff: ClosedRange<Double> = 0.05...5, logger: Logger) {
        self.conninfo = conninfo
        self.channels = channels
        self.backoff = backoff
        self.logger = logger
        (events, continuation) = AsyncStream.makeStream(of: ListenerEvent.self, bufferingPolicy: .unbounded)
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) != 0 { fatalError("pipe() failed: \(errno)") }
        _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
        _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)
        wakeRead = fds[0]
        wakeWrite = fds[1]
    }

    deinit {
        Glibc.close(wakeRead)
        Glibc.close(wakeWrite)
    }

    /// Starts the listener thread. Calling it twice has no further effect.
    public func start() {
        control.withLock { control in
            guard !control.started, !control.stopped else { return }
            control.started = true
            let thread = Thread { [self] in self.loop() }
            thread.name = "keyflare-listen"
            control.thread = thread
            thread.start()
        }
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
        var delay = backoff.lowerBound
        while !isStopped {
            let connection: Connection
            do {
                connection = try Connection.connect(conninfo)
                for channel in channels {
                    try connection.execute(Query(unsafeSQL: "LISTEN " + connection.escapeIdentifier(channel)))
                }
            } catch {
                logger.warning("listener could not connect; retrying", metadata: ["error": "\(error)", "retry_in_s": "\(delay)"])
                if wait(seconds: delay) { break }
                delay = min(delay * 2, backoff.upperBound)
                continue
            }
            delay = backoff.lowerBound
            continuation.yield(.connected)
            for n in connection.notifications() { continuation.yield(.notification(n)) }
            let stopped = pump(connection)
            connection.close()
            if stopped { break }
            logger.warning("listener connection lost; reconnecting")
        }
        continuation.finish()
    }

    /// Waits on the socket and the wake-up pipe until the connection fails (false) or stop() (true).
    private func pump(_ connection: Connection) -> Bool {
        while true {
            var fds = [
                pollfd(fd: connection.socket, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&fds, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return isStopped
            }
            if fds[1].revents != 0 {
                drainWakePipe()
                if isStopped { return true }
            }
            if fds[0].revents != 0 {
                do {
                    try connection.consumeInput()
                } catch {
                    return isStopped
                }
                for n in connection.notifications() { continuation.yield(.notification(n)) }
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
