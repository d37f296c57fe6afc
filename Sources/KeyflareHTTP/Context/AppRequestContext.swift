import Hummingbird

/// The request context of every route before authentication.
public struct AppRequestContext: RequestContext {
    /// Hummingbird's per-request storage (logger, parameters, ...).
    public var coreContext: CoreRequestContextStorage

    /// - Parameters:
    ///   - source: the channel and logger of the request.
    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
    }
}
