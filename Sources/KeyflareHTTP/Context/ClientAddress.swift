import KeyflareCore
import NIOCore

/// The client's address, formatted only when something asks. Most requests never do (a cached
/// token's check, `/healthz`), and formatting the address as a string costs more than the rest of a
/// cached check, so the peer's socket address is captured when the request arrives (the channel
/// forgets it once the connection closes, and a client must not escape counting by hanging up) and
/// turned into text on first use.
public struct ClientAddress: Sendable {
    private let peer: SocketAddress?
    /// Set by `ClientAddressMiddleware` from a trusted proxy's header (`.some(nil)`: it named none).
    private var forwarded: String??

    init(channel: any Channel) {
        self.peer = channel.remoteAddress
        self.forwarded = nil
    }

    /// The TCP peer's address, or the one a trusted proxy's forwarding header named.
    public var ip: String? {
        if case .some(let forwarded) = forwarded { return forwarded }
        return peer?.ipAddress
    }

    /// The address as usage counting keys it: the peer's bytes, copied without formatting, or the
    /// forwarded text.
    public var key: ClientKey? {
        if case .some(let forwarded) = forwarded { return forwarded.map { ClientKey($0) } }
        switch peer {
        case .v4(let address)?: return .v4(address.address.sin_addr.s_addr)
        case .v6(let address)?: return withUnsafeBytes(of: address.address.sin6_addr) { ClientKey(bytes: $0) }
        default: return nil
        }
    }

    /// Replaces the peer's address with the one a trusted proxy named.
    mutating func resolve(_ ip: String?) { forwarded = .some(ip) }
}
