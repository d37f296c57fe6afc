import Foundation
import Synchronization

/// Trips waiting to be written, bounded before anything is spent: at most one trip per kind, token
/// and client address per `quietSeconds` (a client hammering a canary is one record a minute, not
/// one a request), at most `capacity` waiting, and a bounded memory of who was recorded. What does
/// not fit is counted in `dropped` and logged by the writer, never stored.
public final class TokenTripQueue: TokenTripRecording {
    /// Longest wait between two records of the same kind, token and address.
    public let quietSeconds: TimeInterval
    /// Most trips waiting to be written.
    public let capacity: Int
    /// Most (kind, token, address) keys remembered; when full the memory starts again, so the
    /// worst case is one extra record per key, never unbounded growth.
    public static let rememberedKeys = 4_096

    private struct Key: Hashable {
        let kind: String
        let tokenID: UUID
        let clientIP: String?
    }

    private struct State {
        var waiting: [TokenTrip] = []
        var lastRecorded: [Key: Date] = [:]
        var dropped = 0
    }

    private let state = Mutex(State())

    /// - Parameters:
    ///   - quietSeconds: the per-key pause between records.
    ///   - capacity: the queue's bound.
    public init(quietSeconds: TimeInterval = 60, capacity: Int = 256) {
        self.quietSeconds = quietSeconds
        self.capacity = capacity
    }

    public func report(_ trip: TokenTrip) {
        let key = Key(kind: trip.tripwire.kind.rawValue, tokenID: trip.tripwire.tokenID, clientIP: trip.clientIP)
        state.withLock { state in
            if let last = state.lastRecorded[key], trip.at.timeIntervalSince(last) < quietSeconds { return }
            guard state.waiting.count < capacity else {
                state.dropped += 1
                return
            }
            if state.lastRecorded.count >= Self.rememberedKeys { state.lastRecorded = [:] }
            state.lastRecorded[key] = trip.at
            state.waiting.append(trip)
        }
    }

    /// Takes what is waiting, and how many trips were dropped for want of room since the last take.
    public func take() -> (trips: [TokenTrip], dropped: Int) {
        state.withLock { state in
            defer {
                state.waiting = []
                state.dropped = 0
            }
            return (state.waiting, state.dropped)
        }
    }
}
