import Hummingbird
import KeyflareCore

/// The context of routes that need a token: it cannot be built without one, so a handler that takes
/// a `TokenContext` is unreachable without a verified token.
public struct TokenContext: ChildRequestContext {
    /// Hummingbird's per-request storage.
    public var coreContext: CoreRequestContextStorage
    /// The verified token.
    public let token: VerifiedToken

    /// Fails with 401 "missing access token" when the parent has no verified token.
    /// - Parameters:
    ///   - context: the parent context, after `TokenAuthenticator`.
    public init(context: AppRequestContext) throws {
        guard let token = context.token else { throw TokenRejection.missing }
        self.coreContext = context.coreContext
        self.token = token
    }
}
