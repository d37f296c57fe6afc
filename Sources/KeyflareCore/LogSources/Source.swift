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

    /// Checks a source name: at most 128 Unicode scalars as given (the limit is on what is sent, as the
    /// API document's `maxLength` counts it), not blank, no control or format characters; stored trimmed.
    /// - Parameters:
    ///   - name: the name as given.
    public static func validateName(_ name: String) throws -> String {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, name.unicodeScalars.count <= 128 else {
            throw KeyflareError.unprocessable("source name must be 1 to 128 characters")
        }
        // General categories Cc and Cf exactly (Foundation's controlCharacters is wider and
        // version-dependent), so the API document's pattern can say the same.
        guard !trimmed.unicodeScalars.contains(where: { [.control, .format].contains($0.properties.generalCategory) }) else {
            throw KeyflareError.unprocessable("source name must not contain control characters or format characters")
        }
        return trimmed
    }
}
