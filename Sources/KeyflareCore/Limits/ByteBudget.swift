import Synchronization

/// A number of bytes shared by concurrent requests, taken before the bytes are spent and given back
/// after: the memory of everything in flight stays under the budget whatever the requests hold.
public final class ByteBudget: Sendable {
    /// The budget.
    public let capacity: Int
    private let used = Mutex(0)

    /// - Parameters:
    ///   - capacity: most bytes in use at once.
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Takes `bytes`, or returns false when they do not fit. A request larger than the whole budget
    /// is let through when nothing else is in flight, so that it is never refused forever.
    /// - Parameters:
    ///   - bytes: what the request may use at most.
    public func take(_ bytes: Int) -> Bool {
        used.withLock { used in
            guard used == 0 || used + bytes <= capacity else { return false }
            used += bytes
            return true
        }
    }

    /// Gives back what `take` took.
    /// - Parameters:
    ///   - bytes: the same amount.
    public func give(_ bytes: Int) {
        used.withLock { $0 -= bytes }
    }

    /// Bytes in use now (for tests and metrics).
    public var inUse: Int { used.withLock { $0 } }
}
