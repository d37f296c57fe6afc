import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeyflareCore
import Logging
import NIOCore
import Testing

@testable import KeyflareHTTP

/// The API's real router (`buildRouter`) over the in-memory fakes: two accounts, A and B, each with
/// sources, a token and an endpoint, and three tokens of account A's presented by their names below.
struct FakeAPI {
    let log = CallLog()
    let accountA = Account(id: UUID(), name: "a", createdAt: Date(timeIntervalSince1970: 1_700_000_000))
    let accountB = Account(id: UUID(), name: "b", createdAt: Date(timeIntervalSince1970: 1_700_000_000))
    /// Account A's sources `web` and `jobs`, and account B's `web`.
    let sourceA: Source, sourceA2: Source, sourceB: Source
    /// A stored token of each account, and the secret of A's.
    let tokenA: AccessToken, tokenB: AccessToken, tokenASecret: String
    let endpointA: Endpoint, endpointB: Endpoint
    let sources: FakeSources, tokens: FakeTokens, committer: FakeCommitter

    /// Presented secrets: A's management token, A's ingest token, and A's token that may ingest into
    /// `jobs` only.
    static let management = "test-management-a", ingest = "test-ingest-a", jobsOnly = "test-jobs-only-a"

    init() {
        let created = Date(timeIntervalSince1970: 1_700_000_000)
        sourceA = Source(id: UUID(), accountID: accountA.id, name: "web", createdAt: created)
        sourceA2 = Source(id: UUID(), accountID: accountA.id, name: "jobs", createdAt: created)
        sourceB = Source(id: UUID(), accountID: accountB.id, name: "web", createdAt: created)
        tokenA = FakeTokens.token(accountID: accountA.id, scopes: [.ingest], description: "a's")
        tokenB = FakeTokens.token(accountID: accountB.id, scopes: [.ingest], description: "b's")
        tokenASecret = TokenFormat.generate(kind: .public)
        endpointA = Self.endpoint(accountA.id)
        endpointB = Self.endpoint(accountB.id)
        sources = FakeSources([sourceA, sourceA2, sourceB], log: log)
        tokens = FakeTokens([(tokenA, tokenASecret), (tokenB, TokenFormat.generate(kind: .public))], log: log)
        committer = FakeCommitter(log: log)
    }

    static func endpoint(_ accountID: UUID) -> Endpoint {
        Endpoint(
            id: UUID(), accountID: accountID, name: "errors", description: "", sql: "select 1", enableAuth: true, maxLimit: 10,
            createdAt: Date(timeIntervalSince1970: 1_700_000_000), updatedAt: Date(timeIntervalSince1970: 1_700_000_000))
    }

    func verified(_ scopes: [Scope]) -> VerifiedToken {
        VerifiedToken(tokenID: UUID(), accountID: accountA.id, scopes: scopes, expiresAt: nil)
    }

    /// The application, with the route table loaded as the composition loads it (for 405s).
    func app() -> some ApplicationProtocol {
        let verifier = FakeVerifier(tokens: [
            Self.management: verified([.management]), Self.ingest: verified([.ingest]),
            Self.jobsOnly: verified([.ingestSource(sourceA2.id)]),
        ])
        let parts = RouterParts(
            verifier: verifier, metrics: KeyflareMetrics(), readiness: Readiness(), databaseAnswers: { true },
            databaseFailures: { _ in nil }, usage: UsageCounter(), authFailuresPerMinute: 100, clientAddresses: nil,
            accounts: FakeAccounts([accountA, accountB], log: log), tokens: tokens, usageStore: FakeUsage(log: log),
            audit: FakeAudit(events: [], log: log), sources: sources, endpoints: FakeEndpoints([endpointA, endpointB], log: log),
            sandbox: FakeRunner(log: log), committer: committer, ingestBudget: ByteBudget(capacity: 64 * 1024 * 1024))
        let router = buildRouter(parts)
        parts.routes.load(from: router)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return Application(router: router, logger: logger)
    }

    /// Headers presenting `token`.
    static func bearer(_ token: String) -> HTTPFields {
        [.authorization: "Bearer \(token)"]
    }
}

/// The JSON object a response carries.
func jsonObject(_ response: TestResponse) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
}
