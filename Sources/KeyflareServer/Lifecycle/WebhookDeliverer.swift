import AsyncHTTPClient
import Foundation
import KeyflareCore
import KeyflareStore
import Logging
import NIOCore
import ServiceLifecycle

/// Sends due webhook deliveries: at most `concurrency` at once per instance, each claimed in the
/// database first (so any number of instances share the queue and no two send the same attempt),
/// signed, POSTed with a deadline, and its outcome recorded. A 2xx answer marks it delivered for
/// good; anything else is retried with exponential backoff until the retry period ends.
///
/// What is spent is bounded before it is spent: rows claimed per pass (free slots only), sends in
/// flight, time per attempt (`timeout`, connecting included), and answer bytes read
/// (`maxResponseBytes`, the rest is never read and the connection is closed).
struct WebhookDeliverer: Service {
    let queue: WebhookQueue
    let instanceID: String
    let backoff: WebhookBackoff
    let timeout: Duration
    let concurrency: Int
    let poll: Duration
    let allowPrivate: Bool
    /// Whether the database is migrated and answering (no claims before).
    let ready: @Sendable () -> Bool
    let logger: Logger

    /// Most bytes of an answer read.
    static let maxResponseBytes = 64 * 1024
    /// Longest wait to connect, within `timeout`.
    static let connectTimeout = Duration.seconds(5)

    /// A claim lasts longer than any attempt can (the host check, then the request's deadline), so
    /// no other instance can take a row while this one may still be sending it.
    var lease: Duration { timeout + .seconds(30) }

    func run() async throws {
        let client = HTTPClient(
            eventLoopGroup: HTTPClient.defaultEventLoopGroup,
            configuration: .init(
                redirectConfiguration: .disallow,
                timeout: .init(connect: Self.amount(min(Self.connectTimeout, timeout)), read: Self.amount(timeout)),
                decompression: .disabled))
        await work(client)
        try? await client.shutdown()
    }

    private enum Finished { case delivery, tick }

    /// Keeps up to `concurrency` sends in flight; claims only for free slots, and when nothing was
    /// due waits `poll` (or for a send to finish, whichever comes first).
    private func work(_ client: HTTPClient) async {
        await withTaskGroup(of: Finished.self) { group in
            var inFlight = 0
            var ticking = false
            // Cancellation (not only graceful shutdown) ends it too: the poll's sleep then returns at
            // once, and the loop must not spin on it.
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                var claimed = 0
                if inFlight < concurrency && ready() {
                    do {
                        let claims = try await queue.claim(limit: concurrency - inFlight, instanceID: instanceID, lease: lease)
                        for claim in claims {
                            group.addTask { await send(claim, client: client); return .delivery }
                        }
                        claimed = claims.count
                        inFlight += claimed
                    } catch {
                        logger.warning("webhook claim failed; will retry", metadata: ["error": "\(error)"])
                    }
                }
                // Slots left and something was due: there may be more.
                if claimed > 0 && inFlight < concurrency { continue }
                if !ticking {
                    ticking = true
                    group.addTask { [poll] in
                        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: poll) }
                        return .tick
                    }
                }
                switch await group.next() {
                case .delivery: inFlight -= 1
                case .tick: ticking = false
                case nil: break
                }
            }
            // Sends in flight finish (each within its deadline), so their outcomes are recorded.
        }
    }

    private enum Outcome {
        case delivered(status: Int)
        case failed(status: Int?, error: String)
    }

    func send(_ claim: WebhookQueue.Claim, client: HTTPClient) async {
        let outcome = await attempt(claim, client: client)
        let metadata: Logger.Metadata = [
            "webhook": "\(claim.webhookID.uuidString.lowercased())", "event": "\(claim.eventID.uuidString.lowercased())",
            "attempt": "\(claim.attempt)",
        ]
        // The outcome must reach the database: a delivered event left pending would be sent again
        // once its lease ends. A few tries, then the lease decides.
        for round in 0..<3 {
            do {
                switch outcome {
                case .delivered(let status):
                    try await queue.delivered(claim, instanceID: instanceID, status: status)
                    logger.debug("webhook delivered", metadata: metadata.merging(["status": "\(status)"]) { $1 })
                case .failed(let status, let error):
                    let delay = backoff.delay(afterAttempts: claim.attempt)
                    let givingUp = backoff.givesUp(age: claim.age, delay: delay)
                    try await queue.failed(claim, instanceID: instanceID, status: status, error: error, retryIn: givingUp ? nil : delay)
                    logger.notice(
                        givingUp ? "webhook delivery failed; giving up" : "webhook delivery failed; will retry",
                        metadata: metadata.merging(["status": "\(status.map(String.init) ?? "none")", "error": "\(error)"]) { $1 })
                }
                return
            } catch {
                logger.warning("recording a webhook outcome failed", metadata: metadata.merging(["error": "\(error)"]) { $1 })
                try? await Task.sleep(for: .milliseconds(200 << round))
            }
        }
    }

    private func attempt(_ claim: WebhookQueue.Claim, client: HTTPClient) async -> Outcome {
        let destination: WebhookDestination
        do {
            destination = try WebhookDestination(claim.url)
        } catch {
            return .failed(status: nil, error: error.message)
        }
        if !allowPrivate {
            // Checked again at send time: the name may point somewhere else since the webhook was made.
            guard let addresses = await WebhookHostResolver.shared.resolve(destination) else {
                return .failed(status: nil, error: "the host did not resolve in time")
            }
            do {
                try destination.check(addresses)
            } catch {
                return .failed(status: nil, error: error.message)
            }
        }
        let timestamp = Int(Date().timeIntervalSince1970)
        var request = HTTPClientRequest(url: claim.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "Keyflare-Webhooks/1")
        request.headers.add(name: "Keyflare-Webhook-Id", value: claim.eventID.uuidString.lowercased())
        request.headers.add(name: "Keyflare-Webhook-Timestamp", value: String(timestamp))
        request.headers.add(
            name: "Keyflare-Webhook-Signature", value: WebhookSignature.sign(body: claim.body, timestamp: timestamp, secret: claim.secret))
        request.body = .bytes(ByteBuffer(bytes: claim.body))
        do {
            let response = try await client.execute(request, deadline: .now() + Self.amount(timeout))
            let status = Int(response.status.code)
            // Read at most the cap; leaving the rest unread closes the connection.
            var excerpt: [UInt8] = []
            var read = 0
            do {
                for try await chunk in response.body {
                    read += chunk.readableBytes
                    if excerpt.count < 200 { excerpt += chunk.readableBytesView.prefix(200 - excerpt.count) }
                    if read >= Self.maxResponseBytes { break }
                }
            } catch where (200..<300).contains(status) {
                // The receiver said 2xx: it has the event, whatever happens to the rest of its answer.
            }
            if (200..<300).contains(status) { return .delivered(status: status) }
            let text = String(decoding: excerpt.map { (0x20..<0x7F).contains($0) ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
            return .failed(status: status, error: "answered \(status)" + (text.isEmpty ? "" : ": \(text)"))
        } catch {
            return .failed(status: nil, error: Self.describe(error))
        }
    }

    /// A short, secret-free reason for the delivery log.
    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout: return "timed out"
            case .connectTimeout: return "timed out connecting"
            case .remoteConnectionClosed: return "the receiver closed the connection"
            default: return "\(error)"
            }
        }
        return String(describing: error).prefix(300).description
    }

    static func amount(_ duration: Duration) -> TimeAmount {
        .nanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }
}
