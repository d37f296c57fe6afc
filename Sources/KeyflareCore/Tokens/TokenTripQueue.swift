import Foundation
import Synchronization

/// Trips waiting to be written, bounded before anything is spent:
/// - at most one trip per kind, token and client address per `quietSeconds` (a client hammering a
///   canary is one record a minute, not one a request);
/// - at most `perTokenAddresses` addresses per token in that time (an attacker rotating IPv6
///   addresses gets no more);
/// - at most `perAccount` trips of one account waiting, so one tenant's canaries cannot crowd out
///   another's, and at most `capacity` in all;
/// - a memory of who was recorded of at most `rememberedKeys`, aged out rather than wiped.
/// What does not fit is counted in `dropped` and logged by the writer, never stored.
public final class TokenTripQueue: TokenTripRecording {
    /// Longest wait between two records of the same kind, token and address.
    public let quietSeconds: TimeInterval
    /// Most trips waiting to be written.
    public let capacity: Int
    /// Most (kind, token, address) keys remembered; when full, those past their quiet period are
    /// forgotten, and while it is still full new keys are dropped.
    public static let rememberedKeys = 4_096
    /// Most addresses recorded per token and kind per quiet period.
    public static let perTokenAddresses = 8
    /// Most trips of one account waiting.
    public static let perAccount = 32

    private struct Key: Hashable {
        let kind: String
        let tokenID: UUID
        let clientIP: String?
    }

    private struct TokenKey: Hashable {
        let kind: String
        let tokenID: UUID
    }

    private struct State {
        var waiting: [TokenTrip] = []
        var lastRecorded: [Key: Date] = [:]
        /// Per token and kind: when its current quiet period began, and how many addresses since.
        var perToken: [TokenKey: (start: Date, count: Int)] = [:]
        var waitingPerAccount: [UUID: Int] = [:]
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
        let tokenKey = TokenKey(kind: key.kind, tokenID: key.tokenID)
        let quiet = quietSeconds
        state.withLock { state in
            if let last = state.lastRecorded[key], trip.at.timeIntervalSince(last) < quiet { return }
            var window = state.perToken[tokenKey] ?? (start: trip.at, count: 0)
            if trip.at.timeIntervalSince(window.start) >= quiet { window = (start: trip.at, count: 0) }
            let account = trip.tripwire.accountID
            guard window.count < Self.perTokenAddresses, state.waiting.count < capacity,
                state.waitingPerAccount[account, default: 0] < Self.perAccount
            else {
                state.dropped += 1
                return
            }
            if state.lastRecorded.count >= Self.rememberedKeys || state.perToken.count >= Self.rememberedKeys {
                state.lastRecorded = state.lastRecorded.filter { trip.at.timeIntervalSince($0.value) < quiet }
                state.perToken = state.perToken.filter { trip.at.timeIntervalSince($0.value.start) < quiet }
                guard state.lastRecorded.count < Self.rememberedKeys, state.perToken.count < Self.rememberedKeys else {
                    state.dropped += 1
                    return
                }
            }
            window.count += 1
            state.perToken[tokenKey] = window
            state.lastRecorded[key] = trip.at
            state.waitingPerAccount[account, default: 0] += 1
            state.waiting.append(trip)
        }
    }

    /// Takes what is waiting, and how many trips were dropped for want of room since the last take.
    public func take() -> (trips: [TokenTrip], dropped: Int) {
        state.withLock { state in
            defer {
                state.waiting = []
                state.waitingPerAccount = [:]
                state.dropped = 0
            }
            return (state.waiting, state.dropped)
        }
    }
}
