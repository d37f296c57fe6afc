import Hummingbird
import KeyflareCore

/// The request context of every route. `token` is set by `TokenAuthenticator` when the request
/// presented a valid token.
public struct AppRequestContext: RequestContext {
    /// Hummingbird's per-request storage (logger, parameters, ...).
    public var coreContext: CoreRequestContextStorage
    /// The verified token, if one was presented.
    public var token: VerifiedToken?
    /// The signed-in console user, set by the console's session middleware.
    public var consoleSession: ConsoleSession?
    /// The client's address: the TCP peer, or, behind a proxy in `KEYFLARE_TRUSTED_PROXIES`, the
    /// address its forwarding header names (set by `ClientAddressMiddleware`).
    public var client: ClientAddress
    /// `client.ip`, worked out when read.
    public var clientIP: String? { client.ip }
    /// Where the token's uses are counted (set with `token`).
    public var usage: UsageCounter?

    /// Counts what the verified token was used for, once its scope check has passed.
    /// - Parameters:
    ///   - use: what for.
    public func used(_ use: TokenUse) {
        if let token { usage?.recordUse(token.tokenID, use) }
    }

    /// - Parameters:
    ///   - source: the channel and logger of the request.
    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.token = nil
        self.consoleSession = nil
        self.usage = nil
        self.client = ClientAddress(channel: source.channel)
    }
}
