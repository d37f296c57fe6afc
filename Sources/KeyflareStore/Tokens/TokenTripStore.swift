import Foundation
import KeyflareCore
import PQ
import PQServices

/// Writes canary uses and rolled tokens used after their grace period as audit events
/// (`token.canary_used`, `token.reused_after_roll`), with the client's address, user agent, route
/// and origin; never the secret.
public struct TokenTripStore: Sendable {
    private let pool: Pool

    /// - Parameters:
    ///   - pool: the database.
    public init(pool: Pool) {
        self.pool = pool
    }

    /// Records trips, all or none. A token deleted since (its account gone) records nothing.
    /// - Parameters:
    ///   - trips: what `TokenTripQueue.take()` returned.
    public func record(_ trips: [TokenTrip]) async throws {
        guard !trips.isEmpty else { return }
        try await pool.withTransaction { connection in
            for trip in trips {
                let wire = trip.tripwire
                guard try connection.execute("SELECT 1 FROM access_tokens WHERE id = \(wire.tokenID) AND account_id = \(wire.accountID)").first != nil
                else { continue }
                try AuditStore.record(
                    wire.kind.action, accountID: wire.accountID,
                    actor: AuditActor(kind: .token, id: wire.tokenID, ip: trip.clientIP, userAgent: trip.userAgent),
                    targetType: "token", targetID: wire.tokenID, detail: trip.detail, on: connection)
            }
        }
    }
}
