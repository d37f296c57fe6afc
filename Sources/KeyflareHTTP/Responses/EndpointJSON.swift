import Foundation
import KeyflareCore

/// An endpoint as the API shows it.
struct EndpointJSON: Encodable {
    let endpoint: Endpoint

    enum CodingKeys: String, CodingKey {
        case id, name, description, sql, params, enableAuth = "enable_auth", maxLimit = "max_limit", sandboxable
        case createdAt = "created_at", updatedAt = "updated_at"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(endpoint.id.uuidString.lowercased(), forKey: .id)
        try c.encode(endpoint.name, forKey: .name)
        try c.encode(endpoint.description, forKey: .description)
        try c.encode(endpoint.sql, forKey: .sql)
        try c.encode(endpoint.parameters, forKey: .params)
        try c.encode(endpoint.enableAuth, forKey: .enableAuth)
        try c.encode(endpoint.maxLimit, forKey: .maxLimit)
        try c.encode(endpoint.sandboxable, forKey: .sandboxable)
        try c.encode(endpoint.createdAt, forKey: .createdAt)
        try c.encode(endpoint.updatedAt, forKey: .updatedAt)
    }
}
