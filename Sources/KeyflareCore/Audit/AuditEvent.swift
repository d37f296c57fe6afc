import Foundation

/// What a recorded change was.
public enum AuditAction: String, Sendable, Codable, CaseIterable {
    case tokenCreated = "token.created"
    case tokenRevoked = "token.revoked"
    case tokenRolled = "token.rolled"
    case tokenUpdated = "token.updated"
    case tokenDisabled = "token.disabled"
    case tokenEnabled = "token.enabled"
    case tokenLeaked = "token.leaked"
    case tokenCanaryUsed = "token.canary_used"
    case tokenReusedAfterRoll = "token.reused_after_roll"
    case accountUpdated = "account.updated"
    case webhookCreated = "webhook.created"
    case webhookDeleted = "webhook.deleted"
    case sourceCreated = "source.created"
    case sourceUpdated = "source.updated"
    case sourceDeleted = "source.deleted"
    case endpointCreated = "endpoint.created"
    case endpointUpdated = "endpoint.updated"
    case endpointDeleted = "endpoint.deleted"
    case userSignedIn = "user.signed_in"
    case userSignInFailed = "user.sign_in_failed"
}

/// Who made a change, and from where. Never holds a secret: a token is named by its id.
public struct AuditActor: Sendable, Equatable {
    /// How the change was made.
    public enum Kind: String, Sendable, Codable {
        /// Through the API, with a token.
        case token
        /// Through the web console, by a signed-in user.
        case user
        /// Through the `keyflare` CLI, by an operator.
        case `operator`
        /// A secret-scanning service, through a signed leak report.
        case scanner
    }

    /// How the change was made.
    public let kind: Kind
    /// The token or user id; nil for an operator.
    public let id: UUID?
    /// The client address, as the instance saw it.
    public let ip: String?
    /// The client's User-Agent header.
    public let userAgent: String?

    /// - Parameters:
    ///   - kind: token, user or operator.
    ///   - id: the token or user id.
    ///   - ip: client address.
    ///   - userAgent: client User-Agent (cut to 512 bytes of UTF-8, on a scalar boundary: a
    ///     character may carry any number of combining marks).
    public init(kind: Kind, id: UUID?, ip: String?, userAgent: String?) {
        self.kind = kind
        self.id = id
        self.ip = ip
        self.userAgent = userAgent.map { agent in
            var kept = String.UnicodeScalarView()
            var bytes = 0
            for scalar in agent.unicodeScalars {
                bytes += String(scalar).utf8.count
                if bytes > 512 { break }
                kept.append(scalar)
            }
            return String(kept)
        }
    }

    /// The operator at the command line.
    public static let `operator` = AuditActor(kind: .operator, id: nil, ip: nil, userAgent: "keyflare-cli")
}

/// One recorded change.
public struct AuditEvent: Sendable, Equatable {
    /// Event id.
    public let id: UUID
    /// Account the change belongs to.
    public let accountID: UUID
    /// Who made it.
    public let actor: AuditActor
    /// What it was.
    public let action: AuditAction
    /// Kind of thing changed (`token`, `source`, `endpoint`, `user`).
    public let targetType: String?
    /// Id of the thing changed.
    public let targetID: UUID?
    /// When.
    public let createdAt: Date
    /// What else the event carries (a leak report's URL, a canary's route), never a secret.
    public let detail: [String: String]?

    /// - Parameters:
    ///   - id: event id.
    ///   - accountID: account.
    ///   - actor: who.
    ///   - action: what.
    ///   - targetType: kind of target.
    ///   - targetID: target id.
    ///   - createdAt: when.
    ///   - detail: what else it carries.
    public init(
        id: UUID, accountID: UUID, actor: AuditActor, action: AuditAction, targetType: String?, targetID: UUID?,
        createdAt: Date, detail: [String: String]? = nil
    ) {
        self.detail = detail
        self.id = id
        self.accountID = accountID
        self.actor = actor
        self.action = action
        self.targetType = targetType
        self.targetID = targetID
        self.createdAt = createdAt
    }
}
