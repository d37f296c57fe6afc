/// What a webhook can be told about: things that happened to the account's tokens.
public enum WebhookEventType: String, Sendable, CaseIterable, Codable {
    /// 7 days, then 1 day, before `expires_at`.
    case tokenExpiring = "token.expiring"
    /// `expires_at` has passed.
    case tokenExpired = "token.expired"
    /// Revoked (by the API, the console or the CLI).
    case tokenRevoked = "token.revoked"
    /// Reported as leaked, and revoked for it.
    case tokenLeaked = "token.leaked"
    /// A canary token was presented.
    case tokenCanaryUsed = "token.canary_used"
    /// Refused by its rate limit; at most once per token per UTC hour.
    case tokenRateLimited = "token.rate_limited"
    /// A rolled token presented after its grace period.
    case tokenReusedAfterRoll = "token.reused_after_roll"

    /// Parses a list of event names: at least one, each known, no duplicates (kept in order).
    /// - Parameters:
    ///   - names: the names as the client sent them.
    public static func parse(_ names: [String]) throws(KeyflareError) -> [WebhookEventType] {
        guard !names.isEmpty else {
            throw .unprocessable("events must name at least one of: \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var parsed: [WebhookEventType] = []
        for name in names {
            guard let type = WebhookEventType(rawValue: name) else {
                let shown = name.unicodeScalars.prefix(64).map { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F ? String($0) : "?" }.joined()
                throw .unprocessable(
                    "unknown event \"\(shown)\"; known events: \(allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if !parsed.contains(type) { parsed.append(type) }
        }
        return parsed
    }
}
