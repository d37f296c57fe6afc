import Hummingbird
import KeyflareCore

/// The context of routes that need a token: it cannot be built without one, so a handler that takes
/// a `TokenContext` is unreachable without a verified token.
public struct TokenContext: ChildRequestContext {
    /// Hummingbird's per-request storage.
    public var coreContext: CoreRequestContextStorage
    /// The verified token.
    public let token: VerifiedToken
    /// The client's address.
    public let client: ClientAddress
    /// `client.ip`, worked out when read.
    public var clientIP: String? { client.ip }
    /// Where the token's uses are counted.
    let usage: UsageCounter?

    /// Counts what the token was used for, once its scope check has passed.
    /// - Parameters:
    ///   - use: what for.
    public func used(_ use: TokenUse) { usage?.recordUse(token.tokenID, use) }

    /// Fails with 401 "missing access token" when the parent has no verified token.
    /// - Parameters:
    ///   - context: the parent context, after `TokenAuthenticator`.
    public init(context: AppRequestContext) throws {
        guard let token = context.token else { throw TokenRejection.missing }
        self.coreContext = context.coreContext
        self.token = token
        self.client = context.client
        self.usage = context.usage
    }

    /// The caller, for the audit log: the token's id (never its secret), address and user agent.
    /// - Parameters:
    ///   - request: the request, for its User-Agent.
    public func actor(_ request: Request) -> AuditActor {
        AuditActor(kind: .token, id: token.tokenID, ip: clientIP, userAgent: request.headers[.userAgent])
    }
}
