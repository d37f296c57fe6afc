import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import Testing

@testable import KeyflareHTTP

/// The slow-client deadlines, on an embedded channel whose clock the test moves: a head that never
/// completes, a keep-alive connection that never starts its next request, and a trickling body.
@Suite struct SlowClientHandlerTests {
    let head = HTTPRequestPart.head(HTTPRequest(method: .post, scheme: nil, authority: "x", path: "/api/logs"))

    func channel(minBodyRate: Int = 1024) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(handler: SlowClientHandler(
            headerTimeout: .seconds(10), idleTimeout: .seconds(60), minBodyRate: minBodyRate, bodyGrace: .seconds(10)))
        try channel.connect(to: .init(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    func body(_ bytes: Int) -> HTTPRequestPart { .body(ByteBuffer(repeating: 0x61, count: bytes)) }

    @Test func aHeadThatNeverArrivesIsClosedAtTheHeaderTimeout() throws {
        let channel = try channel()
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(!channel.isActive)
    }

    @Test func aHeadInTimeIsServedAndTheNextMustStartWithinIdlePlusHeaderTimeout() throws {
        let channel = try channel()
        channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        try channel.writeInbound(head)
        try channel.writeInbound(HTTPRequestPart.end(nil))
        // A slow handler: no deadline runs while the request is being answered.
        channel.embeddedEventLoop.advanceTime(by: .seconds(120))
        #expect(channel.isActive)
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        channel.embeddedEventLoop.advanceTime(by: .seconds(69))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(!channel.isActive, "a keep-alive connection that never sends its next head stays open")
    }

    @Test func aSecondRequestInTimeKeepsTheConnection() throws {
        let channel = try channel()
        for _ in 0..<3 {
            try channel.writeInbound(head)
            try channel.writeInbound(HTTPRequestPart.end(nil))
            try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
            try channel.writeOutbound(HTTPResponsePart.end(nil))
            channel.embeddedEventLoop.advanceTime(by: .seconds(65))
            #expect(channel.isActive)
        }
    }

    @Test func aTricklingBodyIsCutOffAfterTheGrace() throws {
        let channel = try channel()
        try channel.writeInbound(head)
        // 100 bytes a second against a minimum of 1,024.
        for _ in 0..<9 {
            try channel.writeInbound(body(100))
            channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        }
        #expect(channel.isActive, "judged before the grace")
        try channel.writeInbound(body(100))
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
    }

    @Test func aBodyAtTheMinimumRateIsNotCutOff() throws {
        let channel = try channel()
        try channel.writeInbound(head)
        for _ in 0..<30 {
            try channel.writeInbound(body(1100))
            channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        }
        #expect(channel.isActive)
        try channel.writeInbound(HTTPRequestPart.end(nil))
        channel.embeddedEventLoop.advanceTime(by: .seconds(30))
        #expect(channel.isActive, "a complete body was still judged")
    }

    @Test func noMinimumRateMeansNoBodyCheck() throws {
        let channel = try channel(minBodyRate: 0)
        try channel.writeInbound(head)
        channel.embeddedEventLoop.advanceTime(by: .seconds(300))
        #expect(channel.isActive)
    }

    /// Two pipelined requests: the first response's end must not start the next-head deadline while
    /// the second request is still being answered.
    @Test func aPipelinedRequestIsNotCutOffWhenTheFirstResponseEnds() throws {
        let channel = try channel()
        try channel.writeInbound(head)
        try channel.writeInbound(HTTPRequestPart.end(nil))
        try channel.writeInbound(head)
        try channel.writeInbound(HTTPRequestPart.end(nil))
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        // The second request takes a long time to answer.
        channel.embeddedEventLoop.advanceTime(by: .seconds(120))
        #expect(channel.isActive, "the second request was cut off while being answered")
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        channel.embeddedEventLoop.advanceTime(by: .seconds(71))
        #expect(!channel.isActive, "after the last response the next head has its deadline again")
    }
}
