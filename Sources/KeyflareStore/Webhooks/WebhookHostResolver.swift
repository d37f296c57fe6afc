import KeyflareCore
import NIOCore
import NIOPosix
import Synchronization

/// Resolves webhook hosts on two threads of its own, each lookup answered within `timeout`: a
/// resolver that never answers cannot hold a request (or a delivery) longer, and at most
/// `maxQueued` lookups wait, so a burst of webhook creations cannot queue without bound.
public final class WebhookHostResolver: Sendable {
    /// The process's resolver: its threads live as long as the process.
    public static let shared = WebhookHostResolver(timeout: .seconds(2), maxQueued: 32)

    private let threads: NIOThreadPool
    private let timeout: TimeAmount
    private let maxQueued: Int
    private let queued = Mutex(0)

    init(timeout: TimeAmount, maxQueued: Int) {
        self.threads = NIOThreadPool(numberOfThreads: 2)
        self.timeout = timeout
        self.maxQueued = maxQueued
        threads.start()
    }

    /// The destination's addresses; nil when the lookup did not answer in time or too many wait.
    /// - Parameters:
    ///   - destination: a checked URL.
    public func resolve(_ destination: WebhookDestination) async -> [IPAddress]? {
        if let literal = IPAddress(destination.host) { return [literal] }
        let admitted = queued.withLock { count -> Bool in
            guard count < maxQueued else { return false }
            count += 1
            return true
        }
        guard admitted else { return nil }
        let answer = Once()
        let timer = MultiThreadedEventLoopGroup.singleton.any()
        return await withCheckedContinuation { (continuation: CheckedContinuation<[IPAddress]?, Never>) in
            answer.set(continuation)
            let scheduled = timer.scheduleTask(in: timeout) { answer.resume(nil) }
            threads.submit { state in
                defer { self.queued.withLock { $0 -= 1 } }
                guard state == .active else {
                    answer.resume(nil)
                    return
                }
                let addresses = destination.resolve()
                scheduled.cancel()
                answer.resume(addresses)
            }
        }
    }

    /// A continuation resumed by whichever comes first, the lookup or the timer.
    private final class Once: Sendable {
        private let state = Mutex<CheckedContinuation<[IPAddress]?, Never>?>(nil)

        func set(_ continuation: CheckedContinuation<[IPAddress]?, Never>) {
            state.withLock { $0 = continuation }
        }

        func resume(_ value: [IPAddress]?) {
            let continuation = state.withLock { current -> CheckedContinuation<[IPAddress]?, Never>? in
                defer { current = nil }
                return current
            }
            continuation?.resume(returning: value)
        }
    }
}
