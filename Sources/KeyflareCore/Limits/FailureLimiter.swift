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

    /// Whether the address may still fail (and so may still cost a database lookup).
    /// - Parameters:
    ///   - address: the client address, or nil when unknown (never limited).
    public func allows(_ address: String?) -> Bool {
        guard let key = address.map(Self.key) else { return true }
        let now = clock.now
        return table.withLock { table in
            guard let entry = table[key], entry.start.duration(to: now) < window else { return true }
            return entry.failures < limit
        }
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
            if table.count >= maxAddresses {
                table = table.filter { $0.value.start.duration(to: now) < window }
                if table.count >= maxAddresses { table.removeAll(keepingCapacity: true) }
            }
            table[key] = Window(start: now, failures: 1)
        }
    }

    /// The table key: an IPv6 address's first 64 bits, anything else as it is.
    static func key(_ address: String) -> String {
        guard address.contains(":"), let parsed = IPAddress(address), !parsed.isV4 else { return address }
        return parsed.bytes.prefix(8).map { String($0, radix: 16) }.joined(separator: ".") + "/64"
    }
}
