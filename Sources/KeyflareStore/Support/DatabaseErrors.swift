import KeyflareCore
import PQ

/// The one place where a database failure that reaches a caller (a pool that had no connection in
/// time, a database that cannot be reached, a value libpq cannot send) becomes a domain error, so
/// the HTTP layer never needs to know PQ's errors.
public enum DatabaseErrors {
    /// A database failure as a domain error.
    public struct Mapped: Sendable {
        /// What the client gets.
        public let error: KeyflareError
        /// Whether an operator should see it in the log (the instance or the database is in trouble).
        public let worthAWarning: Bool
    }

    /// The domain error for a database failure; nil for any other error.
    /// - Parameters:
    ///   - error: what was thrown.
    public static func mapped(_ error: any Error) -> Mapped? {
        guard let error = error as? PQError else { return nil }
        if error.kind == .poolExhausted {
            return Mapped(error: .unavailable("the server is busy; try again shortly"), worthAWarning: true)
        }
        if error.isConnectionFailure {
            return Mapped(error: .unavailable("the database is unavailable; try again shortly"), worthAWarning: true)
        }
        if error.kind == .invalidParameter {
            return Mapped(
                error: .badRequest("a value contains a NUL character (\\u0000), which cannot be stored"), worthAWarning: false)
        }
        return nil
    }
}
