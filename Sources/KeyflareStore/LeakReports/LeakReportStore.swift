import Foundation
import KeyflareCore
import PQ
import PQServices

/// Acts on verified leak reports in one transaction: the report's digest is recorded (a second
/// delivery of the same signed body is a 409), every reported string that is one of our tokens is
/// revoked if it is live and recorded as `token.leaked` with the report's URL, source and type, and
/// the revocations reach every instance's cache through the usual notification when it commits.
/// Tokens of every account are looked up: a scanner does not know whose a token is.
public struct LeakReportStore: LeakReportHandling {
    private let pool: Pool

    /// - Parameters:
    ///   - pool: the database.
    public init(pool: Pool) {
        self.pool = pool
    }

    public func handle(_ report: LeakReport, bodyDigest: [UInt8], keyID: String, actor: AuditActor) async throws -> [LeakVerdict] {
        let digests = report.entries.map { TokenFormat.digest(of: $0.token) }
        return try await pool.withTransaction { connection in
            var verdicts: [LeakVerdict?] = Array(repeating: nil, count: digests.count)
            var ours = 0
            // Rows are locked in digest order, so two reports naming the same tokens cannot deadlock.
            for index in digests.indices.sorted(by: { digests[$0].hex < digests[$1].hex }) {
                let (entry, digest) = (report.entries[index], digests[index])
                // Only strings that can be tokens are looked up; the rest are false positives.
                let possible: Bool = {
                    if case .success = TokenFormat.check(entry.token) { return true }
                    return TokenFormat.isImportable(entry.token)
                }()
                let row = possible
                    ? try connection.execute(
                        // NO KEY UPDATE: it does not conflict with the usage flush's foreign-key checks.
                        "SELECT id, account_id, revoked_at IS NULL AND NOT canary AS revocable FROM access_tokens WHERE token_hash = decode(\(digest.hex), 'hex') FOR NO KEY UPDATE"
                    ).first
                    : nil
                guard let row else {
                    verdicts[index] = LeakVerdict(tokenHash: digest.hex, tokenType: entry.type, ours: false)
                    continue
                }
                ours += 1
                let id: UUID = try row.decode("id")
                let accountID: UUID = try row.decode("account_id")
                // A canary is reported (that is what it is for) but not revoked: revoking it would
                // silence it for whoever scraped it from where the scanner found it.
                if try row.decode("revocable", as: Bool.self) {
                    try connection.execute("UPDATE access_tokens SET revoked_at = now() WHERE id = \(id)")
                }
                try AuditStore.record(
                    .tokenLeaked, accountID: accountID, actor: actor, targetType: "token", targetID: id,
                    detail: ["url": entry.url, "source": entry.source, "type": entry.type], on: connection)
                verdicts[index] = LeakVerdict(tokenHash: digest.hex, tokenType: entry.type, ours: true)
            }
            // Last, so that the conflict check sees a concurrent delivery of the same report that
            // committed first (the primary key waits for it) and this one then rolls back whole.
            let inserted = try connection.execute(
                """
                INSERT INTO token_leak_reports (body_digest, key_identifier, tokens, ours)
                VALUES (decode(\(bodyDigest.map { String(format: "%02x", $0) }.joined()), 'hex'), \(keyID), \(report.entries.count), \(ours))
                ON CONFLICT (body_digest) DO NOTHING RETURNING 1 AS inserted
                """
            ).first
            guard inserted != nil else { throw KeyflareError.conflict("this leak report was received before") }
            return verdicts.compactMap { $0 }
        }
    }
}
