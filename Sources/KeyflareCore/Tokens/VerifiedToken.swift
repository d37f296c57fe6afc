import Foundation

/// What a request may do, established by verifying the token it presented.
public struct VerifiedToken: Sendable, Equatable {
    /// The token's id.
    public let tokenID: UUID
    /// The account everything is scoped to.
    public let accountID: UUID
    /// Canonical scopes.
    public let scopes: [Scope]
    /// When the token stops working, if ever.
    public let expiresAt: Date?
    /// Where it may be used from (networks, web origins).
    public let restrictions: TokenRestrictions
    /// Its rate limit in force (its own, else its account's default), if any.
    public let rateLimit: RateLimit?

    /// - Parameters:
    ///   - tokenID: token id.
    ///   - accountID: owning account.
    ///   - scopes: canonical scopes.
    ///   - expiresAt: expiry, if any.
    ///   - restrictions: where it may be used from.
    ///   - rateLimit: its rate limit in force, if any.
    public init(
        tokenID: UUID, accountID: UUID, scopes: [Scope], expiresAt: Date?, restrictions: TokenRestrictions = .none,
        rateLimit: RateLimit? = nil
    ) {
        self.rateLimit = rateLimit
        self.tokenID = tokenID
        self.accountID = accountID
        self.scopes = scopes
        self.expiresAt = expiresAt
        self.restrictions = restrictions
    }

    /// Public or private.
    public var kind: TokenKind { TokenKind(scopes: scopes) }

    /// True when the token has `management`.
    public var canManage: Bool { scopes.contains(.management) }

    /// True when the token may ingest into at least one source.
    public var canIngestSomewhere: Bool {
        scopes.contains { scope in
            switch scope {
            case .ingest, .management, .ingestSource: true
            default: false
            }
        }
    }

    /// True when the token may ingest into this source (`ingest`, `ingest:source:<id>` or `management`).
    /// - Parameters:
    ///   - sourceID: the target source, already known to belong to the token's account.
    public func canIngest(into sourceID: UUID) -> Bool {
        scopes.contains { scope in
            switch scope {
            case .ingest, .management: true
            case .ingestSource(let id): id == sourceID
            default: false
            }
        }
    }

    /// True when the token may run this endpoint (`query`, `query:endpoint:<id>` or `management`).
    /// - Parameters:
    ///   - endpointID: the endpoint, already known to belong to the token's account.
    public func canQuery(endpoint endpointID: UUID) -> Bool {
        scopes.contains { scope in
            switch scope {
            case .query, .management: true
            case .queryEndpoint(let id): id == endpointID
            default: false
            }
        }
    }

    /// Throws 403 unless the token has `management`.
    public func requireManagement() throws {
        guard canManage else {
            throw KeyflareError.forbidden("this token lacks the management scope needed here")
        }
    }

    /// Throws 403 unless the token may ingest into the source.
    /// - Parameters:
    ///   - sourceID: the target source.
    public func requireIngest(into sourceID: UUID) throws {
        guard canIngest(into: sourceID) else {
            throw KeyflareError.forbidden(
                "this token needs the ingest or ingest:source:\(sourceID.uuidString.lowercased()) scope")
        }
    }

    /// Throws 403 unless the token may run the endpoint.
    /// - Parameters:
    ///   - endpointID: the endpoint.
    public func requireQuery(endpoint endpointID: UUID) throws {
        guard canQuery(endpoint: endpointID) else {
            throw KeyflareError.forbidden(
                "this token needs the query or query:endpoint:\(endpointID.uuidString.lowercased()) scope")
        }
    }
}
