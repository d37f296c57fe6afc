import Foundation

/// A token's flushed request counts, as `GET /api/access-tokens/{id}/usage` reports them.
public protocol TokenUsageReading: Sendable {
    /// Daily counts for one token over the last `days` UTC days (today included), zeros filled in.
    /// - Parameters:
    ///   - tokenID: the token (already known to belong to the caller's account).
    ///   - days: how many days.
    func daily(tokenID: UUID, days: Int) async throws -> [UsageCount]

    /// What the token was used for over the last `days` UTC days, summed per use.
    /// - Parameters:
    ///   - tokenID: the token.
    ///   - days: how many days.
    func uses(tokenID: UUID, days: Int) async throws -> [TokenUse: Int]
}
