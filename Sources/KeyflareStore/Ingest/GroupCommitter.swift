import Foundation
import KeyflareCore
import Logging
import PQ
import PQServices
import ServiceLifecycle
import Synchronization

/// Group commit for ingest: concurrent requests hand their batches to a few writers, each of which
/// takes everything queued while it was busy and stores it in one transaction. Every request is
/// still answered only after its own events are committed.
///
/// One fsync then covers many requests, which is what lets single-event requests approach
/// PostgreSQL's multi-row insert rate instead of its one-row-per-transaction rate. If a combined
/// insert fails (a source deleted meanwhile, say), its batches are retried one by one, so a bad
/// batch fails only its own request.
public final class GroupCommitter: Service, EventCommitting {
    private struct Pending: Sendable {
        let batch: IngestBatch
        let sourceID: UUID
        let accountID: UUID
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var queue: [Pending] = []
        /// Bytes of every batch accepted and not yet answered (queued or being written).
        var bytesInFlight = 0
        var idleWriters: [CheckedContinuation<[Pending], Never>] = []
        var closed = false
    }

    private let pool: Pool
    private let writers: Int
    private let maxEventsPerCommit: Int
    private let maxBytesInFlight: Int
    private let logger: Logger
    private let state = Mutex(State())
    private let commits = Atomic<Int>(0)

    /// - Parameters:
    ///   - pool: the database.
    ///   - writers: transactions in flight at once.
    ///   - maxEventsPerCommit: most events one transaction takes (a batch is never split).
    ///   - maxBytesInFlight: most body bytes accepted and not yet committed; past it, `insert`
    ///     refuses with 503 instead of queueing (a batch is always taken when nothing is in flight).
    ///   - logger: where failures are reported.
    public init(
        pool: Pool, writers: Int = 4, maxEventsPerCommit: Int = 20_000, maxBytesInFlight: Int = 256 * 1024 * 1024,
        logger: Logger
    ) {
        self.pool = pool
        self.writers = max(1, writers)
        self.maxEventsPerCommit = maxEventsPerCommit
        self.maxBytesInFlight = maxBytesInFlight
        self.logger = logger
    }

    /// Transactions committed so far (for tests and benchmarks).
    public var commitCount: Int { commits.load(ordering: .relaxed) }

    /// Stores a batch; returns once it is committed.
    /// - Parameters:
    ///   - batch: the events, all for one source.
    ///   - sourceID: the source.
    ///   - accountID: its account.
    public func insert(_ batch: IngestBatch, sourceID: UUID, accountID: UUID) async throws {
        let bytes = batch.json.utf8.count
        let admitted = state.withLock { state -> Bool in
            guard state.bytesInFlight == 0 || state.bytesInFlight + bytes <= maxBytesInFlight else { return false }
            state.bytesInFlight += bytes
            return true
        }
        guard admitted else {
            throw KeyflareError.unavailable("the ingest queue is full; retry in a moment (nothing was stored)")
        }
        defer { state.withLock { $0.bytesInFlight -= bytes } }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let pending = Pending(batch: batch, sourceID: sourceID, accountID: accountID, continuation: continuation)
            enum Action {
                case handTo(CheckedContinuation<[Pending], Never>)
                case queued
                case closed
            }
            let action: Action = state.withLock { state in
                if state.closed { return .closed }
                if let writer = state.idleWriters.popLast() { return .handTo(writer) }
                state.queue.append(pending)
                return .queued
            }
            switch action {
            case .handTo(let writer): writer.resume(returning: [pending])
            case .queued: break
            case .closed: continuation.resume(throwing: KeyflareError.unavailable("the server is shutting down"))
            }
        }
    }

    /// Runs the writers until graceful shutdown, then commits what is queued and stops. If the task
    /// is cancelled instead (a service group tearing down after another service failed), queued
    /// batches are refused rather than left waiting.
    public func run() async throws {
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await withTaskGroup(of: Void.self) { group in
                    for _ in 0..<writers {
                        group.addTask { await self.writerLoop() }
                    }
                }
            } onGracefulShutdown: {
                self.close(refusingQueued: false)
            }
        } onCancel: {
            self.close(refusingQueued: true)
        }
    }

    /// Stops taking batches and wakes idle writers; queued batches are either still committed (a
    /// graceful shutdown) or refused (cancellation).
    private func close(refusingQueued: Bool) {
        let (idle, refused) = state.withLock { state in
            state.closed = true
            let idle = state.idleWriters
            state.idleWriters = []
            var refused: [Pending] = []
            if refusingQueued {
                refused = state.queue
                state.queue = []
            }
            return (idle, refused)
        }
        for writer in idle { writer.resume(returning: []) }
        for pending in refused {
            pending.continuation.resume(throwing: KeyflareError.unavailable("the server is shutting down"))
        }
    }

    private func writerLoop() async {
        while let batch = await nextBatch() {
            await commit(batch)
        }
    }

    /// Everything queued (up to the per-commit limit), or a wait for the next request; nil once
    /// closed and drained.
    private func nextBatch() async -> [Pending]? {
        let taken: [Pending]? = state.withLock { state in
            guard !state.queue.isEmpty else { return state.closed ? [] : nil }
            var count = 0
            var end = 0
            while end < state.queue.count, end == 0 || count + state.queue[end].batch.count <= maxEventsPerCommit {
                count += state.queue[end].batch.count
                end += 1
            }
            let batch = Array(state.queue[..<end])
            state.queue.removeFirst(end)
            return batch
        }
        if let taken { return taken.isEmpty ? nil : taken }
        let handed = await withCheckedContinuation { (continuation: CheckedContinuation<[Pending], Never>) in
            let closed = state.withLock { state -> Bool in
                if state.closed { return true }
                state.idleWriters.append(continuation)
                return false
            }
            if closed { continuation.resume(returning: []) }
        }
        return handed.isEmpty ? nil : handed
    }

    private func commit(_ batch: [Pending]) async {
        do {
            try await write(batch)
            commits.add(1, ordering: .relaxed)
            for pending in batch { pending.continuation.resume() }
        } catch {
            guard batch.count > 1 else {
                batch[0].continuation.resume(throwing: Self.translate(error))
                return
            }
            // Keep one bad batch from failing its neighbours.
            for pending in batch {
                do {
                    try await write([pending])
                    commits.add(1, ordering: .relaxed)
                    pending.continuation.resume()
                } catch {
                    pending.continuation.resume(throwing: Self.translate(error))
                }
            }
        }
    }

    private static func translate(_ error: any Error) -> any Error {
        guard let error = error as? PQError else { return error }
        switch error.condition {
        case .foreignKeyViolation: return KeyflareError.notFound("source not found")
        // JSON that Foundation accepts but jsonb refuses, such as \u0000 in a string.
        case .unstorableValue: return KeyflareError.badRequest("an event holds data PostgreSQL cannot store: \(error.message)")
        default: return error
        }
    }

    private func write(_ batch: [Pending]) async throws {
        try await EventStore(pool: pool).insert(batch.map { ($0.batch, $0.sourceID, $0.accountID) })
    }
}
