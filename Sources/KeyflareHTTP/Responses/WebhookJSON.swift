import Foundation
import KeyflareCore

/// A webhook as the API (and `keyflare webhook`) shows it: never its secret, except in the
/// creation answer, which carries it once as `secret`.
public struct WebhookJSON: Encodable, Sendable {
    let webhook: Webhook
    let secret: String?

    /// - Parameters:
    ///   - webhook: the webhook.
    ///   - secret: its secret, only when it was just made.
    public init(webhook: Webhook, secret: String? = nil) {
        self.webhook = webhook
        self.secret = secret
    }

    enum CodingKeys: String, CodingKey {
        case id, url, events, createdAt = "created_at", secret
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(webhook.id.uuidString.lowercased(), forKey: .id)
        try c.encode(webhook.url, forKey: .url)
        try c.encode(webhook.events.map(\.rawValue), forKey: .events)
        try c.encode(webhook.createdAt, forKey: .createdAt)
        if let secret { try c.encode(secret, forKey: .secret) }
    }
}

/// One delivery in a webhook's delivery log.
public struct WebhookDeliveryJSON: Encodable, Sendable {
    let delivery: WebhookDelivery

    /// - Parameters:
    ///   - delivery: the delivery.
    public init(delivery: WebhookDelivery) {
        self.delivery = delivery
    }

    enum CodingKeys: String, CodingKey {
        case eventID = "event_id", type, tokenID = "token_id", status, attempts, lastStatus = "last_status"
        case lastError = "last_error", createdAt = "created_at", lastAttemptAt = "last_attempt_at"
        case nextAttemptAt = "next_attempt_at", deliveredAt = "delivered_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(delivery.eventID.uuidString.lowercased(), forKey: .eventID)
        try c.encode(delivery.type.rawValue, forKey: .type)
        try c.encode(delivery.tokenID?.uuidString.lowercased(), forKey: .tokenID)
        try c.encode(delivery.status.rawValue, forKey: .status)
        try c.encode(delivery.attempts, forKey: .attempts)
        try c.encode(delivery.lastStatus, forKey: .lastStatus)
        try c.encode(delivery.lastError, forKey: .lastError)
        try c.encode(delivery.createdAt, forKey: .createdAt)
        try c.encode(delivery.lastAttemptAt, forKey: .lastAttemptAt)
        try c.encode(delivery.nextAttemptAt, forKey: .nextAttemptAt)
        try c.encode(delivery.deliveredAt, forKey: .deliveredAt)
    }
}
