/// Who the client is, when proxies stand between it and us: the one function the sign-in limiter,
/// the audit log and every per-address rule use.
///
/// A forwarding header is believed only from a peer in `trusted` (`KEYFLARE_TRUSTED_PROXIES`). Each
/// trusted proxy appends the address it saw to the header, so the chain is read from the right: the
/// right-most address that is not a trusted proxy is the client. Anything to its left was written by
/// the client itself and is ignored.
public struct ClientAddressResolver: Sendable {
    /// Which forwarding header the trusted proxies write.
    public enum Header: String, Sendable {
        /// `X-Forwarded-For: client, proxy1, proxy2` (HAProxy's `option forwardfor`, nginx, most balancers).
        case xForwardedFor = "x-forwarded-for"
        /// RFC 7239 `Forwarded: for=client, for="[2001:db8::1]:80"`.
        case forwarded
    }

    /// The proxies whose forwarding header is believed.
    public let trusted: [CIDR]
    /// The header they write. Only one is read: a proxy passes through the other one untouched, so
    /// reading both would let a client choose its own address.
    public let header: Header

    /// - Parameters:
    ///   - trusted: the proxies' address blocks; empty means the TCP peer is always the client.
    ///   - header: the header they write.
    public init(trusted: [CIDR], header: Header = .xForwardedFor) {
        self.trusted = trusted
        self.header = header
    }

    /// Whether any proxy is trusted at all (if not, the peer is the client and no header is read).
    public var isActive: Bool { !trusted.isEmpty }

    /// The client's address.
    /// - Parameters:
    ///   - peer: the TCP peer's address, as text.
    ///   - values: every value of `header` in the request, in order.
    /// - Returns: the client's address as text, or `peer` when it is not a trusted proxy.
    public func resolve(peer: String?, values: [String]) -> String? {
        guard isActive, let peer, let peerAddress = IPAddress(peer), isTrusted(peerAddress) else { return peer }
        var client = peerAddress
        // At most 32 hops are read: a longer chain is a client padding it, not a real path.
        let hops = values.reversed().lazy.flatMap { $0.split(separator: ",").reversed() }.prefix(32)
        for hop in hops {
            guard let address = parse(hop) else { break }
            client = address
            if !isTrusted(address) { break }
        }
        return client.description
    }

    private func isTrusted(_ address: IPAddress) -> Bool {
        trusted.contains { $0.contains(address) }
    }

    /// One hop of the header: an address, or for `Forwarded` the `for=` parameter of one element.
    private func parse(_ hop: Substring) -> IPAddress? {
        var text = hop.trimmingSpaces
        if header == .forwarded {
            guard let pair = text.split(separator: ";").first(where: { $0.trimmingSpaces.lowercased().hasPrefix("for=") })
            else { return nil }
            text = pair.trimmingSpaces.dropFirst(4)
            if text.hasPrefix("\""), text.hasSuffix("\""), text.count >= 2 { text = text.dropFirst().dropLast() }
        }
        // "[v6]:port" or "[v6]", and "v4:port".
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            return IPAddress(text[text.index(after: text.startIndex)..<close])
        }
        if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            return IPAddress(text[..<colon])
        }
        return IPAddress(text)
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return s
    }
}
