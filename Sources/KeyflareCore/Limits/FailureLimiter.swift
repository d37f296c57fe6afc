import Synchronization

/// Counts failures per client address in fixed one-minute windows, in bounded memory, to stop one
/// address from turning random well-formed tokens into database lookups.
///
/// IPv6 addresses count by their /64, since one host usually holds a whole /64. At most
/// `maxAddresses` are tracked; when the table is full, windows that have ended are dropped first,
/// and if none have, the table starts over (a flood from that many addresses is stopped by the
/// pool's own bounds instead). Only failures touch the table: a request with a valid token costs
/// nothing here.
public final class FailureLimiter: Sendable {
    private struct Window {
        var start: ContinuousClock.Instant
        var failures: Int
    }

    /// Failures allowed per address per window.
    public let limit: Int
    /// How long a window lasts.
    public let window: Duration
    private let maxAddresses: Int
    private let table = Mutex<[String: Window]>([:])
    private let clock = ContinuousClock()

    /// - Parameters:
    ///   - limit: failures allowed per address per window.
    ///   - window: the window's length.
    ///   - maxAddresses: most addresses tracked at once.
    public init(limit: Int, window: Duration = .seconds(60), maxAddresses: Int = 65_536) {
        self.limit = max(1, limit)
        self.window = window
        self.maxAddresses = max(1, maxAddresses)
    }

    /// Counts one attempt that may fail against the address, if it has room for one; under
    /// concurrency this is what holds the limit (checking first and counting after would let every
    /// parallel attempt through). A verification that then succeeds gives it back with `release`.
    /// - Parameters:
    ///   - address: the client address, or nil when unknown (never limited).
    /// - Returns: whether the attempt may go ahead.
    public func reserve(_ address: String?) -> Bool {
        guard let key = address.map(Self.key) else { return true }
        let now = clock.now
        return table.withLock { table in
            if var entry = table[key], entry.start.duration(to: now) < window {
                guard entry.failures < limit else { return false }
                entry.failures += 1
                table[key] = entry
                return true
            }
            Self.makeRoom(&table, now: now, window: window, maxAddresses: maxAddresses)
            table[key] = Window(start: now, failures: 1)
            return true
        }
    }

    /// Gives back an attempt `reserve` counted, once it did not fail.
    /// - Parameters:
    ///   - address: the same address.
    public func release(_ address: String?) {
        guard let key = address.map(Self.key) else { return }
        table.withLock { table in
            if var entry = table[key], entry.failures > 0 {
                entry.failures -= 1
                table[key] = entry
            }
        }
    }

    private static func makeRoom(_ table: inout [String: Window], now: ContinuousClock.Instant, window: Duration, maxAddresses: Int) {
        guard table.count >= maxAddresses else { return }
        table = table.filter { $0.value.start.duration(to: now) < window }
        if table.count >= maxAddresses { table.removeAll(keepingCapacity: true) }
    }

    /// Records one failure from the address.
    /// - Parameters:
    ///   - address: the client address, or nil when unknown.
    public func recordFailure(_ address: String?) {
        guard let key = address.map(Self.key) else { return }
        let now = clock.now
        table.withLock { table in
            if var entry = table[key], entry.start.duration(to: now) < window {
                entry.failures += 1
                table[key] = entry
                return
            }
            Self.makeRoom(&table, now: now, window: window, maxAddresses: maxAddresses)
            table[key] = Window(start: now, failures: 1)
        }
    }

    /// The key a per-address limit counts by: an IPv6 address's first 64 bits (one host usually
    /// holds a whole /64), anything else as it is.
    /// - Parameters:
    ///   - address: a client address.
    public static func key(_ address: String) -> String {
        guard address.contains(":"), let parsed = IPAddress(address), !parsed.isV4 else { return address }
        return parsed.bytes.prefix(8).map { String($0, radix: 16) }.joined(separator: ".") + "/64"
    }
}
