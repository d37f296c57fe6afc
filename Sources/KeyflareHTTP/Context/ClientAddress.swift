import NIOCore

/// The client's address, worked out only when something asks. Most requests never do (a cached
/// token's check, `/healthz`), and reading the peer's address takes the channel's lock and formats a
/// string, so it is not done per request.
public struct ClientAddress: Sendable {
    private let channel: any Channel
    /// Set by `ClientAddressMiddleware` from a trusted proxy's header (`.some(nil)`: it named none).
    private var forwarded: String??

    init(channel: any Channel) {
        self.channel = channel
        self.forwarded = nil
    }

    /// The TCP peer's address, or the one a trusted proxy's forwarding header named.
    public var ip: String? {
        if case .some(let forwarded) = forwarded { return forwarded }
        return channel.remoteAddress?.ipAddress
    }

    /// Replaces the peer's address with the one a trusted proxy named.
    mutating func resolve(_ ip: String?) { forwarded = .some(ip) }
}
