import Foundation

/// A refused use that its owner wants to hear about: a canary token presented anywhere, or a rolled
/// token presented after its grace period (a missed client, or a leaked copy). Thrown by
/// `TokenRecord.validate` in place of the plain 401; whoever verifies answers with `answer`, exactly
/// what the caller would have got otherwise, and reports the trip.
public struct TokenTripwire: Error, Sendable, Equatable {
    /// What was tripped.
    public enum Kind: String, Sendable {
        /// A canary token was used.
        case canary
        /// A rolled token was used after its grace period ended.
        case reusedAfterRoll

        /// The audit action that records it.
        public var action: AuditAction {
            switch self {
            case .canary: .tokenCanaryUsed
            case .reusedAfterRoll: .tokenReusedAfterRoll
            }
        }
    }

    /// What was tripped.
    public let kind: Kind
    /// The token presented.
    public let tokenID: UUID
    /// Its account.
    public let accountID: UUID
    /// The 401 to answer with.
    public let answer: KeyflareError

    /// - Parameters:
    ///   - kind: what was tripped.
    ///   - tokenID: the token presented.
    ///   - accountID: its account.
    ///   - answer: the 401 to answer with.
    public init(kind: Kind, tokenID: UUID, accountID: UUID, answer: KeyflareError) {
        self.kind = kind
        self.tokenID = tokenID
        self.accountID = accountID
        self.answer = answer
    }
}

/// One trip, with what the request said about its sender: never the secret.
public struct TokenTrip: Sendable, Equatable {
    /// What was tripped, and which token.
    public let tripwire: TokenTripwire
    /// The client's address.
    public let clientIP: String?
    /// `Origin`, else `Referer`'s origin.
    public let origin: String?
    /// `User-Agent`.
    public let userAgent: String?
    /// The request's method and path, without the query (which may hold `api_key`).
    public let route: String
    /// When.
    public let at: Date

    /// - Parameters:
    ///   - tripwire: what was tripped.
    ///   - clientIP: client address.
    ///   - origin: browser origin.
    ///   - userAgent: user agent.
    ///   - route: method and path, no query.
    ///   - at: when.
    public init(tripwire: TokenTripwire, clientIP: String?, origin: String?, userAgent: String?, route: String, at: Date = Date()) {
        self.tripwire = tripwire
        self.clientIP = clientIP
        self.origin = origin
        self.userAgent = userAgent
        self.route = route
        self.at = at
    }

    /// The route as a trip records it: the method and path, without the query (which may hold
    /// `api_key`), and with any path segment that may be a secret replaced by `{token}`: one of
    /// our format, or what follows `access-tokens/` and is not an id (Logflare's DELETE names the
    /// token itself there).
    /// - Parameters:
    ///   - method: the request's method.
    ///   - path: the request's path.
    public static func route(method: String, path: String) -> String {
        var previous = ""
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).map { segment -> String in
            defer { previous = String(segment) }
            let text = String(segment)
            if case .failure(.malformed) = TokenFormat.check(text) {
                if previous == "access-tokens", !text.isEmpty, UUID(uuidString: text) == nil { return "{token}" }
                return text
            }
            return "{token}"
        }
        return method + " " + segments.joined(separator: "/")
    }

    /// The audit detail: route and origin (address and user agent go in the audit row's own columns).
    public var detail: [String: String] {
        var detail = ["route": route]
        if let origin { detail["origin"] = origin }
        return detail
    }
}

/// Takes trips off the request path: `report` must return at once and never fail the request; the
/// recording happens later and is bounded (a flood of trips costs a bounded queue, not a write each).
public protocol TokenTripRecording: Sendable {
    /// Hands over one trip.
    /// - Parameters:
    ///   - trip: what happened.
    func report(_ trip: TokenTrip)
}
