import Foundation

/// A named stream of log events in an account.
public struct Source: Sendable, Equatable {
    /// Source id.
    public let id: UUID
    /// Owning account.
    public let accountID: UUID
    /// Unique within the account.
    public let name: String
    /// Creation time.
    public let createdAt: Date

    /// - Parameters:
    ///   - id: source id.
    ///   - accountID: owning account.
    ///   - name: name, unique in the account.
    ///   - createdAt: creation time.
    public init(id: UUID, accountID: UUID, name: String, createdAt: Date) {
        self.id = id
        self.accountID = accountID
        self.name = name
        self.createdAt = createdAt
    }

    /// Checks a source name: 1 to 128 characters after trimming, no control characters.
    /// - Parameters:
    ///   - name: the name as given.
    public static func validateName(_ name: String) throws -> String {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.count <= 128 else {
            throw KeyflareError.unprocessable("source name must be 1 to 128 characters")
        }
        guard !trimmed.unicodeScalars.contains(where: { CharacterSet.controlCharacters.contains($0) }) else {
            throw KeyflareError.unprocessable("source name must not contain control characters")
        }
        return trimmed
    }
}
