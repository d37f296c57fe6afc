import Foundation

/// A person who signs in to an account's console.
public struct User: Sendable, Equatable {
    /// The user id.
    public let id: UUID
    /// The account the user belongs to.
    public let accountID: UUID
    /// The sign-in email, stored as given and unique case-insensitively.
    public let email: String

    /// - Parameters:
    ///   - id: user id.
    ///   - accountID: owning account.
    ///   - email: sign-in email.
    public init(id: UUID, accountID: UUID, email: String) {
        self.id = id
        self.accountID = accountID
        self.email = email
    }

    /// Trims and checks an email address: one `@`, a non-empty local part and a dotted domain, no spaces.
    /// - Parameters:
    ///   - email: the address as given.
    public static func validateEmail(_ email: String) throws -> String {
        let trimmed = email.trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = trimmed.split(separator: "@", omittingEmptySubsequences: false)
        guard trimmed.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
            !parts[1].hasPrefix("."), !parts[1].hasSuffix("."),
            !trimmed.contains(where: { $0.isWhitespace || $0.isNewline })
        else {
            throw KeyflareError.unprocessable("\"\(trimmed.prefix(80))\" is not a valid email address")
        }
        return trimmed
    }

    /// Shortest accepted password, in characters.
    public static let minPasswordLength = 8
}
