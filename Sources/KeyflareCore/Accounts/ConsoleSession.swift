import Foundation

/// A signed-in console user, as the request context carries it (SessionStore makes them).
public struct ConsoleSession: Sendable, Equatable {
    /// The user.
    public let userID: UUID
    /// Their email.
    public let email: String
    /// Their account.
    public let accountID: UUID
    /// The account's name.
    public let accountName: String
    /// The token every state-changing form of this session must carry.
    public let csrfToken: String

    /// - Parameters:
    ///   - userID: the user.
    ///   - email: their email.
    ///   - accountID: their account.
    ///   - accountName: the account's name.
    ///   - csrfToken: the token every state-changing form must carry.
    public init(userID: UUID, email: String, accountID: UUID, accountName: String, csrfToken: String) {
        self.userID = userID
        self.email = email
        self.accountID = accountID
        self.accountName = accountName
        self.csrfToken = csrfToken
    }
}
