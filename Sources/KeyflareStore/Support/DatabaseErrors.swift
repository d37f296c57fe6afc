import KeyflareCore
import PQ

/// The one place where a database failure that reaches a caller (a pool that had no connection in
/// time, a database that cannot be reached, a value libpq cannot send) becomes a domain error, so
/// the HTTP layer never needs to know PQ's errors: the composition hands `mapped` to the router.
public enum DatabaseErrors {
    /// A database failure as a domain error (KeyflareCore's type, so that the HTTP layer can take
    /// `mapped` as a `FailureMapping` without importing storage).
    public typealias Mapped = MappedFailure

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

/// The SQL conditions storage acts on, each named once from its SQLSTATE: no other file of the
/// storage target spells a SQLSTATE. Each store then says what the condition means for it (a
/// duplicate source name, a lock held by another migration, a sandboxed query past its time).
public enum SQLCondition: Sendable, Equatable {
    /// `23505`: a unique constraint refused the row.
    case uniqueViolation
    /// `23503`: a row it refers to is gone (a source deleted while its events were queued).
    case foreignKeyViolation
    /// `22P05`, `22P02`, `22021`, `22003`: a value the column's type cannot hold (text Foundation
    /// accepts but jsonb refuses, such as `\u0000`; a number out of range).
    case unstorableValue
    /// `57014`: the statement was cancelled, by `statement_timeout` or a cancel request.
    case queryCanceled
    /// `55P03`: `lock_timeout` passed before a lock was granted.
    case lockNotAvailable
    /// Anything else.
    case other

    /// The condition a server error stands for.
    /// - Parameters:
    ///   - sqlState: the error's SQLSTATE, if it has one.
    public init(sqlState: String?) {
        switch sqlState {
        case "23505": self = .uniqueViolation
        case "23503": self = .foreignKeyViolation
        case "22P05", "22P02", "22021", "22003": self = .unstorableValue
        case "57014": self = .queryCanceled
        case "55P03": self = .lockNotAvailable
        default: self = .other
        }
    }

    /// The SQLSTATE of an error made here (a lock wait that gave up).
    static let lockNotAvailableState = "55P03"
}

extension PQError {
    /// What the error means to storage.
    var condition: SQLCondition { SQLCondition(sqlState: sqlState) }
}
