import Foundation

/// A tenant: everything else (users, sources, endpoints, tokens) belongs to exactly one account.
public struct Account: Sendable, Equatable, Codable {
    /// The account id.
    public let id: UUID
    /// A display name.
    public let name: String
    /// When the account was created.
    public let createdAt: Date

    /// - Parameters:
    ///   - id: account id.
    ///   - name: display name.
    ///   - createdAt: creation time.
    public init(id: UUID, name: String, createdAt: Date) {
        self.id = id
        self.name = name
        self.createdAt = createdAt
    }

    /// Longest accepted account name, in characters.
    public static let maxNameLength = 200

    /// Trims and checks an account name.
    /// - Parameters:
    ///   - name: the name as given.
    public static func validateName(_ name: String) throws -> String {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw KeyflareError.unprocessable("account name must not be empty") }
        guard trimmed.count <= maxNameLength else {
            throw KeyflareError.unprocessable("account name must be at most \(maxNameLength) characters")
        }
        return trimmed
    }
}
