import Foundation

/// An account's webhook: where to POST, and which events. Its signing secret is not here: it is
/// shown once, at creation, and afterwards only the delivery service reads it.
public struct Webhook: Sendable, Equatable {
    /// Its id.
    public let id: UUID
    /// The owning account.
    public let accountID: UUID
    /// The receiver's http(s) URL.
    public let url: String
    /// The events it receives.
    public let events: [WebhookEventType]
    /// When it was made.
    public let createdAt: Date

    /// - Parameters: one for each property.
    public init(id: UUID, accountID: UUID, url: String, events: [WebhookEventType], createdAt: Date) {
        self.id = id
        self.accountID = accountID
        self.url = url
        self.events = events
        self.createdAt = createdAt
    }

    /// Most webhooks per account.
    public static let maxPerAccount = 10
}

/// One event's delivery to one webhook, as the delivery log shows it.
public struct WebhookDelivery: Sendable, Equatable {
    /// Where a delivery stands.
    public enum Status: String, Sendable {
        /// Not delivered yet; retried at `nextAttemptAt`.
        case pending
        /// The receiver answered 2xx.
        case delivered
        /// Retried for the whole retry period without a 2xx.
        case failed
    }

    /// The event's id (the `Keyflare-Webhook-Id` header).
    public let eventID: UUID
    /// The event's type.
    public let type: WebhookEventType
    /// The token it is about.
    public let tokenID: UUID?
    /// Where it stands.
    public let status: Status
    /// Attempts so far.
    public let attempts: Int
    /// The HTTP status of the last answer, if there was one.
    public let lastStatus: Int?
    /// Why the last attempt failed.
    public let lastError: String?
    /// When it was enqueued.
    public let createdAt: Date
    /// When the last attempt began.
    public let lastAttemptAt: Date?
    /// When it is due again, while pending.
    public let nextAttemptAt: Date?
    /// When the receiver accepted it.
    public let deliveredAt: Date?

    /// - Parameters: one for each property.
    public init(
        eventID: UUID, type: WebhookEventType, tokenID: UUID?, status: Status, attempts: Int, lastStatus: Int?, lastError: String?,
        createdAt: Date, lastAttemptAt: Date?, nextAttemptAt: Date?, deliveredAt: Date?
    ) {
        self.eventID = eventID
        self.type = type
        self.tokenID = tokenID
        self.status = status
        self.attempts = attempts
        self.lastStatus = lastStatus
        self.lastError = lastError
        self.createdAt = createdAt
        self.lastAttemptAt = lastAttemptAt
        self.nextAttemptAt = nextAttemptAt
        self.deliveredAt = deliveredAt
    }
}
