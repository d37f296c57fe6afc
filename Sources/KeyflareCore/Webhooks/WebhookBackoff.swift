/// When a failed delivery is tried again: `base` after the first attempt, doubling after each one,
/// never more than `cap` apart; given up once the next attempt would fall after `giveUpAfter` from
/// when the event was enqueued.
public struct WebhookBackoff: Sendable, Equatable {
    /// The wait after the first failed attempt.
    public var base: Duration
    /// The longest wait between attempts.
    public var cap: Duration
    /// How long after enqueueing a delivery is retried.
    public var giveUpAfter: Duration

    /// - Parameters: one for each property.
    public init(base: Duration = .seconds(10), cap: Duration = .seconds(3600), giveUpAfter: Duration = .seconds(86_400)) {
        self.base = base
        self.cap = cap
        self.giveUpAfter = giveUpAfter
    }

    /// The wait after `attempts` failed attempts (1 for the first).
    /// - Parameters:
    ///   - attempts: attempts made so far, at least 1.
    public func delay(afterAttempts attempts: Int) -> Duration {
        let exponent = max(0, min(attempts - 1, 40))
        let capMilliseconds = Self.milliseconds(cap)
        let value = Self.milliseconds(base).multipliedReportingOverflow(by: Int64(1) << exponent)
        return .milliseconds(value.overflow ? capMilliseconds : min(value.partialValue, capMilliseconds))
    }

    /// Whether to give up rather than wait `delay` more, `age` after the delivery was enqueued.
    /// - Parameters:
    ///   - age: time since it was enqueued.
    ///   - delay: the wait before the next attempt.
    public func givesUp(age: Duration, delay: Duration) -> Bool {
        age + delay > giveUpAfter
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }
}
