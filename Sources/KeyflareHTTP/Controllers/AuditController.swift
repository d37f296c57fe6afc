import Foundation
import Hummingbird
import KeyflareCore

/// `GET /api/audit-events?limit=&before=`: the account's audit log, newest first. Management only.
struct AuditController {
    let audit: any AuditLogReading

    struct EventJSON: Encodable {
        let event: AuditEvent

        enum CodingKeys: String, CodingKey {
            case id, action, actorType = "actor_type", actorID = "actor_id", targetType = "target_type"
            case targetID = "target_id", ip, userAgent = "user_agent", createdAt = "created_at", detail
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(event.id.uuidString.lowercased(), forKey: .id)
            try c.encode(event.action.rawValue, forKey: .action)
            try c.encode(event.actor.kind.rawValue, forKey: .actorType)
            try c.encode(event.actor.id?.uuidString.lowercased(), forKey: .actorID)
            try c.encode(event.targetType, forKey: .targetType)
            try c.encode(event.targetID?.uuidString.lowercased(), forKey: .targetID)
            try c.encode(event.actor.ip, forKey: .ip)
            try c.encode(event.actor.userAgent, forKey: .userAgent)
            try c.encode(event.createdAt, forKey: .createdAt)
            try c.encode(event.detail, forKey: .detail)
        }
    }

    /// A page, and where the next one starts (`before` for the next call), null on the last page.
    struct Page: Encodable {
        let data: [EventJSON]
        let next: String?

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(data, forKey: .data)
            try c.encode(next, forKey: .next)
        }

        enum CodingKeys: String, CodingKey {
            case data, next
        }
    }

    func addRoutes(to group: RouterGroup<TokenContext>) {
        ManagementRoutes(group: group).on("/audit-events", method: .get, query: ["limit", "before"]) { request, context -> Response in
            let query = QueryString(request)
            var limit = 50
            if let text = query["limit"] {
                guard let value = Int(String(text)), (1...500).contains(value) else {
                    throw KeyflareError.badRequest("limit must be a whole number from 1 to 500")
                }
                limit = value
            }
            var before: UUID?
            if let text = query["before"] {
                guard let id = UUID(uuidString: String(text)) else {
                    throw KeyflareError.badRequest("before must be the id of an audit event")
                }
                before = id
            }
            let events = try await audit.list(accountID: context.token.accountID, limit: limit, before: before)
            let next = events.count == limit ? events.last?.id.uuidString.lowercased() : nil
            return try JSONResponse.make(Page(data: events.map(EventJSON.init), next: next))
        }
    }
}
