import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeyflareCore
import Logging
import NIOCore
import Synchronization

/// A webhook receiver on 127.0.0.1 (a real socket, port chosen by the system) that records every
/// request and answers as `answer` says for the n-th one (from 1).
final class WebhookReceiver: Sendable {
    /// How to answer one request.
    enum Answer: Sendable {
        /// This status, empty body.
        case status(Int)
        /// Never answer (until the client gives up).
        case hang
        /// 200 with this many bytes of body, streamed.
        case huge(Int)
        /// This status, after a pause.
        case slow(Int, Duration)
    }

    /// One request as received.
    struct Delivery: Sendable {
        let path: String
        let headers: HTTPFields
        let body: [UInt8]
        let at: ContinuousClock.Instant

        var eventID: String? { headers[HTTPField.Name("Keyflare-Webhook-Id")!] }
        var timestamp: Int? { headers[HTTPField.Name("Keyflare-Webhook-Timestamp")!].flatMap { Int($0) } }
        var signature: String? { headers[HTTPField.Name("Keyflare-Webhook-Signature")!] }
        func json() throws -> [String: Any] { try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] ?? [:] }
        func verifies(with secret: String) -> Bool {
            guard let timestamp, let signature else { return false }
            return WebhookSignature.verify(header: signature, body: body, timestamp: timestamp, secret: secret)
        }
    }

    private let deliveries = Mutex<[Delivery]>([])
    private let hugeWritten = Mutex(0)
    private let inFlight = Mutex<(now: [String: Int], most: [String: Int])>(([:], [:]))

    /// The most requests to one path that were being answered at the same time.
    var mostInFlight: Int { inFlight.withLock { $0.most.values.max() ?? 0 } }

    /// Body bytes the receiver managed to write in `.huge` answers (the client stops reading at its cap).
    var hugeBytesWritten: Int { hugeWritten.withLock { $0 } }
    private let answer: @Sendable (_ n: Int, _ path: String) -> Answer

    init(answer: @escaping @Sendable (_ n: Int, _ path: String) -> Answer) {
        self.answer = answer
    }

    /// Every request so far, in order of arrival.
    var received: [Delivery] { deliveries.withLock { $0 } }

    private let server = Mutex<Task<Void, Never>?>(nil)

    /// Starts listening; returns the base URL. `stop()` ends it.
    func start() async throws -> String {
        let router = Router()
        router.post("/**") { [self] request, _ -> Response in
            let bytes = try await request.body.collect(upTo: 1 << 20)
            let path = request.uri.path
            let n = deliveries.withLock { list in
                list.append(Delivery(path: path, headers: request.headers, body: Array(buffer: bytes), at: .now))
                return list.filter { $0.path == path }.count
            }
            inFlight.withLock { state in
                state.now[path, default: 0] += 1
                state.most[path] = max(state.most[path] ?? 0, state.now[path]!)
            }
            defer { inFlight.withLock { $0.now[path, default: 1] -= 1 } }
            switch answer(n, path) {
            case .status(let code):
                return Response(status: .init(code: code))
            case .slow(let code, let pause):
                try await Task.sleep(for: pause)
                return Response(status: .init(code: code))
            case .hang:
                try await Task.sleep(for: .seconds(120))
                return Response(status: .ok)
            case .huge(let size):
                return Response(status: .ok, body: ResponseBody { writer in
                    let chunk = ByteBuffer(repeating: UInt8(ascii: "x"), count: 64 * 1024)
                    var sent = 0
                    while sent < size {
                        try await writer.write(chunk)
                        sent += chunk.readableBytes
                        self.hugeWritten.withLock { $0 += chunk.readableBytes }
                    }
                    try await writer.finish(nil)
                })
            }
        }
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        var logger = Logger(label: "webhook-receiver")
        // Its own shutdown (cancellation) is logged as errors by the server; nothing here is under test.
        logger.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                continuation.yield(channel.localAddress?.port ?? 0)
                continuation.finish()
            }, logger: logger)
        // A test helper's own server task, ended by stop() (cancellation shuts the service group down).
        let task = Task<Void, Never> { _ = try? await app.runService(gracefulShutdownSignals: []) }
        server.withLock { $0 = task }
        for await port in ports where port > 0 { return "http://127.0.0.1:\(port)" }
        throw KeyflareProcess.CLIError("the webhook receiver did not start")
    }

    /// Stops the server.
    func stop() {
        server.withLock { $0?.cancel() }
    }
}
