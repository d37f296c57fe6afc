import NIOCore
import NIOHTTPTypes

/// Closes connections that hold a slot without making progress:
/// - a first request head that has not arrived `headerTimeout` after the connection opened;
/// - a later request head on a keep-alive connection that has not arrived `idleTimeout +
///   headerTimeout` after the previous response ended (Hummingbird's own idle timeout closes a
///   connection that sends nothing; this one also closes a connection that sends a head a byte at a
///   time, which would otherwise reset the idle timer forever);
/// - a body that trickles in slower than `minBodyRate` bytes a second once `bodyGrace` has passed
///   since its first bytes.
///
/// It sits after HTTP decoding, so it sees request and response parts. The deadlines are plain
/// values: a request only moves them, and one timer per connection wakes at the nearest, so the
/// hot path schedules and cancels nothing (measured: per-request timers cost about a tenth of a
/// `/healthz` request's CPU time).
final class SlowClientHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let headerTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private let minBodyRate: Int
    private let bodyGrace: TimeAmount
    /// When the connection is closed unless a request head has arrived; nil during a request.
    private var headDeadline: NIODeadline?
    /// When the current body's first bytes arrived; nil when no body is arriving.
    private var bodyStart: NIODeadline?
    private var bodyBytes = 0
    /// Requests whose head has arrived and whose response has not ended (more than one when a
    /// client pipelines).
    private var inFlight = 0
    /// The one timer, and when it fires.
    private var timer: Scheduled<Void>?
    private var timerAt: NIODeadline = .distantFuture

    /// - Parameters:
    ///   - headerTimeout: longest wait for a request head to complete.
    ///   - idleTimeout: how long a keep-alive connection may wait before it starts its next request.
    ///   - minBodyRate: slowest body accepted, in bytes a second (0: no minimum).
    ///   - bodyGrace: how long a body may take before its rate is judged.
    init(headerTimeout: TimeAmount, idleTimeout: TimeAmount, minBodyRate: Int, bodyGrace: TimeAmount = .seconds(10)) {
        self.headerTimeout = headerTimeout
        self.idleTimeout = idleTimeout
        self.minBodyRate = minBodyRate
        self.bodyGrace = bodyGrace
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { awaitHead(context, within: headerTimeout) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if headDeadline == nil { awaitHead(context, within: headerTimeout) }
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { stopTimer() }

    func channelInactive(context: ChannelHandlerContext) {
        stopTimer()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            inFlight += 1
            headDeadline = nil
        case .body(let buffer):
            if bodyStart == nil, minBodyRate > 0 {
                let now = context.eventLoop.now
                bodyStart = now
                bodyBytes = 0
                wake(context, at: now + bodyGrace)
            }
            bodyBytes += buffer.readableBytes
        case .end:
            bodyStart = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            // The response is complete: once no other request is waiting for its own (a client may
            // pipeline), the next request's head must arrive in time too.
            inFlight = max(0, inFlight - 1)
            if inFlight == 0 {
                bodyStart = nil
                awaitHead(context, within: idleTimeout + headerTimeout)
            }
        }
        context.write(data, promise: promise)
    }

    private func awaitHead(_ context: ChannelHandlerContext, within delay: TimeAmount) {
        let deadline = context.eventLoop.now + delay
        headDeadline = deadline
        wake(context, at: deadline)
    }

    /// Makes sure the timer fires no later than `deadline`. An earlier timer stays: when it fires it
    /// finds the deadlines it was not set for and sets itself again.
    private func wake(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        guard timer == nil || deadline < timerAt else { return }
        timer?.cancel()
        timerAt = deadline
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            handler.timer = nil
            handler.timerAt = .distantFuture
            handler.check(context)
        }
    }

    private func check(_ context: ChannelHandlerContext) {
        let now = context.eventLoop.now
        if let headDeadline {
            if now >= headDeadline { return context.close(promise: nil) }
            wake(context, at: headDeadline)
        }
        if let bodyStart {
            let judged = bodyStart + bodyGrace
            if now >= judged {
                let elapsed = Double((now - bodyStart).nanoseconds) / 1e9
                if Double(bodyBytes) < Double(minBodyRate) * elapsed { return context.close(promise: nil) }
                wake(context, at: now + .seconds(1))
            } else {
                wake(context, at: judged)
            }
        }
    }

    private func stopTimer() {
        timer?.cancel()
        timer = nil
        timerAt = .distantFuture
        headDeadline = nil
        bodyStart = nil
    }
}
