import Foundation
import KeyflareCore
import Synchronization

// In-memory implementations of KeyflareCore's ports, for routing tests. They keep the one rule the
// routes rely on (everything is scoped by account, so another account's resource is simply not
// found) and record every call, so a test can say which storage calls a request did or did not
// make. What storage itself does (SQL, audit rows, the sandbox) is tested against PostgreSQL.

/// The storage calls a request made, in order, as "method argument" lines.
final class CallLog: Sendable {
    private let calls = Mutex<[String]>([])

    func record(_ call: String) { calls.withLock { $0.append(call) } }

    var all: [String] { calls.withLock { $0 } }

    /// The calls whose text starts with `prefix`.
    func named(_ prefix: String) -> [String] { all.filter { $0.hasPrefix(prefix) } }
}

/// Presented secrets and what they may do; anything else is an unknown token.
struct FakeVerifier: TokenVerifier {
    let tokens: [String: VerifiedToken]

    func answer(_ token: String) throws -> TokenAnswer {
        guard let verified = tokens[token] else { throw TokenRejection.unknown }
        return .cached(verified)
    }

    func lookUp(_ digest: TokenDigest) async throws -> VerifiedToken { throw TokenRejection.unknown }
}

final class FakeSources: SourceManaging {
    private let sources: Mutex<[Source]>
    let log: CallLog

    init(_ sources: [Source], log: CallLog) {
        self.sources = Mutex(sources)
        self.log = log
    }

    func list(accountID: UUID) async throws -> [Source] {
        log.record("sources.list")
        return sources.withLock { $0.filter { $0.accountID == accountID }.sorted { $0.name < $1.name } }
    }

    func find(id: UUID, accountID: UUID) async throws -> Source? {
        log.record("sources.find id")
        return sources.withLock { $0.first { $0.id == id && $0.accountID == accountID } }
    }

    func find(name: String, accountID: UUID) async throws -> Source? {
        log.record("sources.find name")
        return sources.withLock { $0.first { $0.name == name && $0.accountID == accountID } }
    }

    func create(name: String, accountID: UUID, actor: AuditActor) async throws -> Source {
        log.record("sources.create \(name)")
        let name = try Source.validateName(name)
        return try sources.withLock { sources in
            guard !sources.contains(where: { $0.accountID == accountID && $0.name == name }) else {
                throw KeyflareError.conflict("a source with this name already exists")
            }
            let source = Source(id: UUID(), accountID: accountID, name: name, createdAt: Date())
            sources.append(source)
            return source
        }
    }

    func rename(id: UUID, to name: String, accountID: UUID, actor: AuditActor) async throws -> Source? {
        log.record("sources.rename \(name)")
        let name = try Source.validateName(name)
        return sources.withLock { sources in
            guard let i = sources.firstIndex(where: { $0.id == id && $0.accountID == accountID }) else { return nil }
            sources[i] = Source(id: id, accountID: accountID, name: name, createdAt: sources[i].createdAt)
            return sources[i]
        }
    }

    func delete(id: UUID, accountID: UUID, actor: AuditActor) async throws -> Bool {
        log.record("sources.delete")
        return sources.withLock { sources in
            let before = sources.count
            sources.removeAll { $0.id == id && $0.accountID == accountID }
            return sources.count < before
        }
    }
}

final class FakeTokens: TokenManaging {
    func narrowScopes(id: UUID, accountID: UUID, to scopes: [Scope], actor: AuditActor) async throws -> AccessToken? {
        log.record("tokens.narrow")
        return try tokens.withLock { tokens in
            guard let i = tokens.firstIndex(where: { $0.token.id == id && $0.token.accountID == accountID }) else { return nil }
            let old = tokens[i].token
            guard Scope.narrows(scopes, old.scopes) else { throw KeyflareError.unprocessable("scopes must be narrower") }
            let new = AccessToken(
                id: old.id, accountID: old.accountID, description: old.description, scopes: scopes, hint: old.hint,
                createdAt: old.createdAt, expiresAt: old.expiresAt, revokedAt: old.revokedAt, lastUsedAt: old.lastUsedAt)
            tokens[i].token = new
            return new
        }
    }

    /// Each token with the digest of its secret.
    private let tokens: Mutex<[(token: AccessToken, digest: TokenDigest)]>
    let log: CallLog

    init(_ tokens: [(token: AccessToken, secret: String)], log: CallLog) {
        self.tokens = Mutex(tokens.map { ($0.token, TokenFormat.digest(of: $0.secret)) })
        self.log = log
    }

    static func token(id: UUID = UUID(), accountID: UUID, scopes: [Scope], description: String = "", revokedAt: Date? = nil)
        -> AccessToken
    {
        AccessToken(
            id: id, accountID: accountID, description: description, scopes: scopes, hint: "abcd",
            createdAt: Date(timeIntervalSince1970: 1_700_000_000), expiresAt: nil, revokedAt: revokedAt, lastUsedAt: nil)
    }

    func list(accountID: UUID, includeRevoked: Bool) async throws -> [AccessToken] {
        log.record("tokens.list")
        return tokens.withLock { $0.map(\.token).filter { $0.accountID == accountID && (includeRevoked || $0.revokedAt == nil) } }
    }

    func create(
        accountID: UUID, description: String, scopes: [Scope], expiresAt: Date?, actor: AuditActor,
        restrictions: TokenRestrictions, rateLimit: RateLimit?, canary: Bool
    ) async throws -> (AccessToken, String) {
        log.record("tokens.create")
        let secret = TokenFormat.generate(kind: TokenKind(scopes: scopes))
        let token = AccessToken(
            id: UUID(), accountID: accountID, description: description, scopes: scopes, hint: String(secret.suffix(4)),
            createdAt: Date(), expiresAt: expiresAt, revokedAt: nil, lastUsedAt: nil, restrictions: restrictions,
            rateLimit: rateLimit, canary: canary)
        tokens.withLock { $0.append((token, TokenFormat.digest(of: secret))) }
        return (token, secret)
    }

    func find(id: UUID, accountID: UUID) async throws -> AccessToken? {
        log.record("tokens.find id")
        return tokens.withLock { $0.map(\.token).first { $0.id == id && $0.accountID == accountID } }
    }

    func find(digest: TokenDigest, accountID: UUID) async throws -> AccessToken? {
        log.record("tokens.find digest")
        return tokens.withLock { $0.first { $0.digest == digest && $0.token.accountID == accountID }?.token }
    }

    func revoke(id: UUID, accountID: UUID, actor: AuditActor, confirmation: String?) async throws -> Bool {
        log.record("tokens.revoke")
        return change(id: id, accountID: accountID) { Self.copy($0, revokedAt: $0.revokedAt ?? Date()) } != nil
    }

    func update(
        id: UUID, accountID: UUID, description: String?, restrictions: TokenRestrictions?, rateLimit: RateLimit??,
        actor: AuditActor
    ) async throws -> AccessToken? {
        log.record("tokens.update")
        return change(id: id, accountID: accountID) {
            Self.copy($0, description: description, restrictions: restrictions, rateLimit: rateLimit)
        }
    }

    func setDisabled(_ disabled: Bool, id: UUID, accountID: UUID, actor: AuditActor, confirmation: String?) async throws
        -> AccessToken?
    {
        log.record("tokens.setDisabled \(disabled)")
        return change(id: id, accountID: accountID) { Self.copy($0, disabledAt: .some(disabled ? $0.disabledAt ?? Date() : nil)) }
    }

    /// Replaces the account's token `id` by `transform` of it; nil when the account has none.
    private func change(id: UUID, accountID: UUID, _ transform: (AccessToken) -> AccessToken) -> AccessToken? {
        tokens.withLock { tokens in
            guard let i = tokens.firstIndex(where: { $0.token.id == id && $0.token.accountID == accountID }) else { return nil }
            tokens[i].token = transform(tokens[i].token)
            return tokens[i].token
        }
    }

    /// The token with some fields changed; nil arguments keep the old values.
    static func copy(
        _ t: AccessToken, description: String? = nil, revokedAt: Date? = nil, disabledAt: Date?? = nil,
        restrictions: TokenRestrictions? = nil, rateLimit: RateLimit?? = nil
    ) -> AccessToken {
        AccessToken(
            id: t.id, accountID: t.accountID, description: description ?? t.description, scopes: t.scopes, hint: t.hint,
            createdAt: t.createdAt, expiresAt: t.expiresAt, revokedAt: revokedAt ?? t.revokedAt, lastUsedAt: t.lastUsedAt,
            requestsToday: t.requestsToday, format: t.format, disabledAt: disabledAt ?? t.disabledAt,
            restrictions: restrictions ?? t.restrictions, rateLimit: rateLimit ?? t.rateLimit)
    }

    func roll(id: UUID, accountID: UUID, graceSeconds: Int, expiresIn: Int?, actor: AuditActor, confirmation: String?) async throws
        -> (new: AccessToken, secret: String, old: AccessToken)?
    {
        log.record("tokens.roll")
        guard let old = try await find(id: id, accountID: accountID) else { return nil }
        let (new, secret) = try await create(
            accountID: accountID, description: old.description, scopes: old.scopes, expiresAt: nil, actor: actor,
            restrictions: old.restrictions, rateLimit: old.rateLimit)
        return (new, secret, old)
    }
}

final class FakeAccounts: AccountManaging {
    private let accounts: Mutex<[UUID: (account: Account, limit: RateLimit?)]>
    let log: CallLog

    init(_ accounts: [Account], log: CallLog) {
        self.accounts = Mutex(Dictionary(uniqueKeysWithValues: accounts.map { ($0.id, ($0, nil)) }))
        self.log = log
    }

    func account(id: UUID) async throws -> Account? {
        log.record("accounts.account")
        return accounts.withLock { $0[id]?.account }
    }

    func defaultRateLimit(id: UUID) async throws -> RateLimit? {
        log.record("accounts.defaultRateLimit")
        return accounts.withLock { $0[id]?.limit }
    }

    func setDefaultRateLimit(_ limit: RateLimit?, id: UUID, actor: AuditActor) async throws {
        log.record("accounts.setDefaultRateLimit")
        accounts.withLock { $0[id]?.limit = limit }
    }

    /// The fakes hold no policy: routing tests do not need one.
    func tokenPolicy(id: UUID) async throws -> TokenLifetimePolicy? { nil }

    func setTokenPolicy(_ policy: TokenLifetimePolicy?, id: UUID, actor: AuditActor) async throws {
        log.record("accounts.setTokenPolicy")
    }

    func tokensOverPolicy(id: UUID, limit: Int) async throws -> [UUID] { [] }
}

/// No flushed usage: every day counts zero.
struct FakeUsage: TokenUsageReading {
    let log: CallLog

    func uses(tokenID: UUID, days: Int) async throws -> [TokenUse: Int] {
        log.record("usage.uses \(days)")
        return [:]
    }

    func daily(tokenID: UUID, days: Int) async throws -> [UsageCount] {
        log.record("usage.daily \(days)")
        return (0..<days).map { UsageCount(label: "day \($0)", requests: 0, rateLimited: 0) }
    }
}

struct FakeAudit: AuditLogReading {
    let events: [AuditEvent]
    let log: CallLog

    func list(accountID: UUID, limit: Int, before: UUID?) async throws -> [AuditEvent] {
        log.record("audit.list")
        var mine = events.filter { $0.accountID == accountID }.sorted { $0.createdAt > $1.createdAt }
        if let before, let i = mine.firstIndex(where: { $0.id == before }) { mine = Array(mine[(i + 1)...]) }
        return Array(mine.prefix(limit))
    }
}

/// Endpoints in memory; create and update accept any SQL (the sandbox check is storage's, tested there).
final class FakeEndpoints: EndpointManaging {
    private let endpoints: Mutex<[Endpoint]>
    let log: CallLog

    init(_ endpoints: [Endpoint], log: CallLog) {
        self.endpoints = Mutex(endpoints)
        self.log = log
    }

    func list(accountID: UUID) async throws -> [Endpoint] {
        log.record("endpoints.list")
        return endpoints.withLock { $0.filter { $0.accountID == accountID } }
    }

    func find(idOrName: String, accountID: UUID) async throws -> Endpoint? {
        log.record("endpoints.find")
        return endpoints.withLock { list in
            list.first { $0.accountID == accountID && ($0.id.uuidString.lowercased() == idOrName.lowercased() || $0.name == idOrName) }
        }
    }

    func findPublic(id: UUID) async throws -> Endpoint? {
        log.record("endpoints.findPublic")
        return endpoints.withLock { $0.first { $0.id == id && !$0.enableAuth } }
    }

    func create(_ draft: EndpointDraft, accountID: UUID, actor: AuditActor) async throws -> Endpoint {
        log.record("endpoints.create \(draft.name)")
        let endpoint = Self.endpoint(draft, id: UUID(), accountID: accountID, createdAt: Date())
        endpoints.withLock { $0.append(endpoint) }
        return endpoint
    }

    func update(_ existing: Endpoint, with draft: EndpointDraft, accountID: UUID, actor: AuditActor) async throws -> Endpoint? {
        log.record("endpoints.update \(draft.name)")
        return endpoints.withLock { list in
            guard let i = list.firstIndex(where: { $0.id == existing.id && $0.accountID == accountID }) else { return nil }
            list[i] = Self.endpoint(draft, id: existing.id, accountID: accountID, createdAt: existing.createdAt)
            return list[i]
        }
    }

    func delete(id: UUID, accountID: UUID, actor: AuditActor) async throws -> Bool {
        log.record("endpoints.delete")
        return endpoints.withLock { list in
            let before = list.count
            list.removeAll { $0.id == id && $0.accountID == accountID }
            return list.count < before
        }
    }

    static func endpoint(_ draft: EndpointDraft, id: UUID, accountID: UUID, createdAt: Date) -> Endpoint {
        Endpoint(
            id: id, accountID: accountID, name: draft.name, description: draft.description, sql: draft.sql,
            enableAuth: draft.enableAuth, maxLimit: draft.maxLimit, createdAt: createdAt, updatedAt: Date(),
            sandboxable: draft.sandboxable)
    }
}

/// Answers every run with the endpoint's name and the values it was given, as one JSON row.
struct FakeRunner: EndpointRunning {
    let log: CallLog

    func run(_ endpoint: Endpoint, values: [String: String?], callerSQL: String?) async throws -> String {
        log.record("sandbox.run \(endpoint.name)")
        let data = try JSONSerialization.data(withJSONObject: [["endpoint": endpoint.name, "values": values.count]])
        return String(decoding: data, as: UTF8.self)
    }
}

/// Keeps every batch it is handed, as committed.
final class FakeCommitter: EventCommitting {
    struct Committed: Sendable {
        let batch: IngestBatch
        let sourceID: UUID
        let accountID: UUID
    }

    private let committed = Mutex<[Committed]>([])
    let log: CallLog

    init(log: CallLog) { self.log = log }

    var batches: [Committed] { committed.withLock { $0 } }

    func insert(_ batch: IngestBatch, sourceID: UUID, accountID: UUID) async throws {
        log.record("committer.insert")
        committed.withLock { $0.append(Committed(batch: batch, sourceID: sourceID, accountID: accountID)) }
    }
}
