import PQ

/// The listener's logic, without sockets or threads: events in, actions out. `Listener`'s loop only
/// carries out the actions (connect, send the probe, wait, close) and reports what happened.
///
/// A connection counts as listening only once a probe sent through the notification path itself
/// (`pg_notify` on the listener's own channel) has come back; a heartbeat probe then goes out every
/// `heartbeatInterval`, and a probe unanswered for `heartbeatTimeout` ends the connection. "Answered"
/// means both its notification and its query result arrived: a connection that delivers the
/// notification but never the result is as stuck as one that delivers neither.
struct ListenerStateMachine {
    typealias Instant = ContinuousClock.Instant

    /// What the loop must do next.
    enum Action: Equatable {
        /// Open a connection and LISTEN on every channel, then report `connected` or `connectFailed`.
        case connect
        /// Send the probe query, then report `probeSent` or `connectionFailed`.
        case sendProbe
        /// Wait for input or a stop until `deadline`, then report what arrived (or nothing).
        case wait(until: Instant)
        /// Wait `seconds` (or until a stop), then `connect`.
        case backOff(seconds: Double, reason: RetryReason)
        /// Yield `.connected`: the first probe of this connection came back.
        case announceConnected
        /// Yield `.disconnected`, after an announced connection was lost.
        case announceDisconnected
        /// Hand a notification to the consumer.
        case deliver(Notification)
        /// Close the connection.
        case close
        /// Finish the event sequence; the loop ends.
        case finish
    }

    /// Why a connection is being retried, for the log line.
    enum RetryReason: Equatable {
        /// Connecting or LISTEN failed.
        case couldNotConnect
        /// The connection was lost after it was announced.
        case lost
        /// The connection was lost before its first probe came back.
        case lostBeforeConfirmed
        /// The first probe never came back: LISTEN through a transaction-pooling PgBouncer or a standby.
        case probeUnanswered
        /// An announced connection's heartbeat went unanswered.
        case heartbeatUnanswered
    }

    private struct Heartbeat {
        /// When the outstanding probe was sent; nil once its notification is back.
        var sentAt: Instant?
        /// Whether the outstanding probe's query result is still to be drained.
        var resultPending = false
        /// When the last probe's notification came back (or the connection was made).
        var lastAnswered: Instant
        /// Whether `.connected` was announced for this connection.
        var announced = false

        /// Since when a probe has been waited for, if one is.
        var waitingSince: Instant? { sentAt ?? (resultPending ? lastAnswered : nil) }
    }

    private enum State {
        case disconnected
        case connected(Heartbeat)
        case stopped
    }

    let probeChannel: String
    let heartbeatInterval: Duration
    let heartbeatTimeout: Duration
    let backoff: ClosedRange<Double>
    private var state = State.disconnected
    private var delay: Double

    /// - Parameters:
    ///   - probeChannel: the listener's own channel for its probes.
    ///   - heartbeatInterval: how long after an answer the next probe goes out.
    ///   - heartbeatTimeout: how long a probe may go unanswered.
    ///   - backoff: first and longest wait between reconnect attempts, in seconds.
    init(probeChannel: String, heartbeatInterval: Duration, heartbeatTimeout: Duration, backoff: ClosedRange<Double>) {
        self.probeChannel = probeChannel
        self.heartbeatInterval = heartbeatInterval
        self.heartbeatTimeout = heartbeatTimeout
        self.backoff = backoff
        self.delay = backoff.lowerBound
    }

    /// The first action.
    mutating func start() -> [Action] {
        guard case .disconnected = state else { return [] }
        return [.connect]
    }

    /// Connecting or LISTEN failed.
    mutating func connectFailed() -> [Action] {
        guard case .disconnected = state else { return [] }
        return [.backOff(seconds: nextDelay(), reason: .couldNotConnect)]
    }

    /// The connection is open and LISTENs on every channel.
    mutating func connected(at now: Instant) -> [Action] {
        guard case .disconnected = state else { return [] }
        state = .connected(Heartbeat(lastAnswered: now))
        return next(at: now)
    }

    /// The probe query went out.
    mutating func probeSent(at now: Instant) -> [Action] {
        guard case .connected(var heartbeat) = state else { return [] }
        heartbeat.sentAt = now
        heartbeat.resultPending = true
        state = .connected(heartbeat)
        return next(at: now)
    }

    /// Input arrived: these notifications, and whether every pending query result has been drained.
    mutating func received(_ notifications: [Notification], resultsDrained: Bool, at now: Instant) -> [Action] {
        guard case .connected(var heartbeat) = state else { return [] }
        var actions: [Action] = []
        if resultsDrained { heartbeat.resultPending = false }
        for notification in notifications {
            guard notification.channel == probeChannel else {
                actions.append(.deliver(notification))
                continue
            }
            if heartbeat.sentAt != nil {
                heartbeat.sentAt = nil
                heartbeat.lastAnswered = now
            }
            if !heartbeat.announced {
                heartbeat.announced = true
                delay = backoff.lowerBound
                actions.append(.announceConnected)
            }
        }
        state = .connected(heartbeat)
        return actions + next(at: now)
    }

    /// A wait ended with nothing to read.
    mutating func waited(until now: Instant) -> [Action] {
        guard case .connected = state else { return [] }
        return next(at: now)
    }

    /// The connection failed: a send, a read or the socket.
    mutating func connectionFailed() -> [Action] {
        guard case .connected(let heartbeat) = state else { return [] }
        return lose(heartbeat, reason: heartbeat.announced ? .lost : .lostBeforeConfirmed)
    }

    /// `stop()` was called.
    mutating func stop() -> [Action] {
        let wasConnected: Bool
        switch state {
        case .stopped: return []
        case .connected: wasConnected = true
        case .disconnected: wasConnected = false
        }
        state = .stopped
        return wasConnected ? [.close, .finish] : [.finish]
    }

    /// A back-off wait ended.
    mutating func backedOff() -> [Action] {
        guard case .disconnected = state else { return [] }
        return [.connect]
    }

    /// What the heartbeat needs now: a probe, a verdict, or a wait until the next deadline.
    private mutating func next(at now: Instant) -> [Action] {
        guard case .connected(let heartbeat) = state else { return [] }
        if let since = heartbeat.waitingSince {
            if now >= since + heartbeatTimeout {
                return lose(heartbeat, reason: heartbeat.announced ? .heartbeatUnanswered : .probeUnanswered)
            }
            return [.wait(until: since + heartbeatTimeout)]
        }
        if !heartbeat.announced || now >= heartbeat.lastAnswered + heartbeatInterval { return [.sendProbe] }
        return [.wait(until: heartbeat.lastAnswered + heartbeatInterval)]
    }

    /// An announced connection is retried at once (it worked a moment ago); any other waits, with
    /// the wait doubling each time up to the back-off's upper bound.
    private mutating func lose(_ heartbeat: Heartbeat, reason: RetryReason) -> [Action] {
        state = .disconnected
        if heartbeat.announced {
            delay = backoff.lowerBound
            return [.close, .announceDisconnected, .backOff(seconds: 0, reason: reason)]
        }
        return [.close, .backOff(seconds: nextDelay(), reason: reason)]
    }

    private mutating func nextDelay() -> Double {
        defer { delay = min(delay * 2, backoff.upperBound) }
        return delay
    }
}
