import NIOCore
import NIOHTTPTypes

/// Closes connections that hold a slot without making progress:
/// - a first request head that has not arrived `headerTimeout` after the connection opened;
/// - a later request head on a keep-alive connection that has not arrived `idleTimeout +
///   headerTimeout` after the previous response ended (Hummingbird's own idle timeout closes a
///   connection that sends nothing; this one also closes a connection that sends a head a byte at a
///   time, which would otherwise reset the idle timer forever);
/// - a body that trickles in slower than `minBodyRate` bytes a second once `bodyGrace` has passed.
///
/// It sits after HTTP decoding, so it sees request and response parts.
final class SlowClientHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let headerTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private let minBodyRate: Int
    private let bodyGrace: TimeAmount
    private var headerDeadline: Scheduled<Void>?
    private var bodyCheck: RepeatedTask?
    private var bodyStart: NIODeadline = .now()
    private var bodyBytes = 0
    /// Between a request head and the end of its response.
    private var inRequest = false

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
        if context.channel.isActive { armHeaderDeadline(context, in: headerTimeout) }
    }

    func channelActive(context: ChannelHandlerContext) {
        armHeaderDeadline(context, in: headerTimeout)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { cancelAll() }

    func channelInactive(context: ChannelHandlerContext) {
        cancelAll()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            inRequest = true
            headerDeadline?.cancel()
            headerDeadline = nil
            startBodyClock(context)
        case .body(let buffer):
            bodyBytes += buffer.readableBytes
        case .end:
            bodyCheck?.cancel()
            bodyCheck = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            // The response is complete: the next request's head must arrive in time too.
            inRequest = false
            bodyCheck?.cancel()
            bodyCheck = nil
            armHeaderDeadline(context, in: idleTimeout + headerTimeout)
        }
        context.write(data, promise: promise)
    }

    private func armHeaderDeadline(_ context: ChannelHandlerContext, in delay: TimeAmount) {
        guard !inRequest else { return }
        headerDeadline?.cancel()
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        headerDeadline = context.eventLoop.scheduleTask(in: delay) {
            loopBound.value.close(promise: nil)
        }
    }

    private func startBodyClock(_ context: ChannelHandlerContext) {
        guard minBodyRate > 0 else { return }
        bodyCheck?.cancel()
        bodyStart = context.eventLoop.now
        bodyBytes = 0
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        bodyCheck = context.eventLoop.scheduleRepeatedTask(initialDelay: bodyGrace, delay: .seconds(1)) { _ in
            let (handler, context) = loopBound.value
            let elapsed = Double((context.eventLoop.now - handler.bodyStart).nanoseconds) / 1e9
            if Double(handler.bodyBytes) < Double(handler.minBodyRate) * elapsed {
                context.close(promise: nil)
            }
        }
    }

    private func cancelAll() {
        headerDeadline?.cancel()
        headerDeadline = nil
        bodyCheck?.cancel()
        bodyCheck = nil
    }
}
