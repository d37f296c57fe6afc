import NIOCore
import NIOHTTPTypes

/// Closes connections that hold a slot without making progress: a request head that has not
/// arrived `headerTimeout` after the connection opened, and a body that trickles in slower than
/// `minBodyRate` bytes a second once `bodyGrace` has passed. (Idle keep-alive connections are
/// closed by Hummingbird's own idle timeout.) It sits after HTTP decoding, so it sees request parts.
final class SlowClientHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    private let headerTimeout: TimeAmount
    private let minBodyRate: Int
    private let bodyGrace: TimeAmount
    private var headerDeadline: Scheduled<Void>?
    private var bodyCheck: RepeatedTask?
    private var bodyStart: NIODeadline = .now()
    private var bodyBytes = 0
    private var seenHead = false

    /// - Parameters:
    ///   - headerTimeout: longest wait for the first request head.
    ///   - minBodyRate: slowest body accepted, in bytes a second (0: no minimum).
    ///   - bodyGrace: how long a body may take before its rate is judged.
    init(headerTimeout: TimeAmount, minBodyRate: Int, bodyGrace: TimeAmount = .seconds(10)) {
        self.headerTimeout = headerTimeout
        self.minBodyRate = minBodyRate
        self.bodyGrace = bodyGrace
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { armHeaderDeadline(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        armHeaderDeadline(context)
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
            seenHead = true
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

    private func armHeaderDeadline(_ context: ChannelHandlerContext) {
        guard headerDeadline == nil, !seenHead else { return }
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        headerDeadline = context.eventLoop.scheduleTask(in: headerTimeout) {
            loopBound.value.close(promise: nil)
        }
    }

    private func startBodyClock(_ context: ChannelHandlerContext) {
        guard minBodyRate > 0 else { return }
        bodyCheck?.cancel()
        bodyStart = .now()
        bodyBytes = 0
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        bodyCheck = context.eventLoop.scheduleRepeatedTask(initialDelay: bodyGrace, delay: .seconds(1)) { _ in
            let (handler, context) = loopBound.value
            let elapsed = Double((NIODeadline.now() - handler.bodyStart).nanoseconds) / 1e9
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
