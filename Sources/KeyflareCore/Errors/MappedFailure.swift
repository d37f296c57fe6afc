/// A failure below the domain (a pool with no connection in time, a database that cannot be
/// reached, a value the database cannot take) as the domain error a caller gets. Storage makes
/// these from its own errors, so the HTTP layer maps failures it cannot name.
public struct MappedFailure: Sendable {
    /// What the client gets.
    public let error: KeyflareError
    /// Whether an operator should see it in the log (the instance or the database is in trouble).
    public let worthAWarning: Bool

    /// - Parameters:
    ///   - error: what the client gets.
    ///   - worthAWarning: whether it is logged as a warning.
    public init(error: KeyflareError, worthAWarning: Bool) {
        self.error = error
        self.worthAWarning = worthAWarning
    }
}

/// Turns an error thrown below the domain into what the caller gets; nil for any error it does not
/// know (which then stays an unexpected 500).
public typealias FailureMapping = @Sendable (any Error) -> MappedFailure?
