import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A webhook's URL, checked: http or https, a host, no credentials, at most 2048 bytes; and the
/// rule that it may not lead to this machine or a private network unless the operator allows it
/// (`KEYFLARE_WEBHOOKS_ALLOW_PRIVATE`). The rule is applied to every address the host resolves to,
/// when the webhook is made and again before each delivery (a name can be re-pointed after the
/// check: DNS rebinding).
public struct WebhookDestination: Sendable, Equatable {
    /// The URL as given.
    public let url: String
    /// The host: a name, or an address literal without brackets.
    public let host: String

    /// Longest URL accepted, in bytes.
    public static let maxURLBytes = 2048

    /// Parses and checks the form of a URL (not where it leads).
    /// - Parameters:
    ///   - text: the URL.
    public init(_ text: String) throws(KeyflareError) {
        guard text.utf8.count <= Self.maxURLBytes else {
            throw .unprocessable("url must be at most \(Self.maxURLBytes) bytes long")
        }
        guard !text.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F || !$0.isASCII }) else {
            throw .unprocessable("url must be an http or https URL without spaces or control characters (percent-encode the rest)")
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https"
        else { throw .unprocessable("url must be an http or https URL") }
        guard components.user == nil, components.password == nil, !Self.authority(of: text).contains("@")
        else { throw .unprocessable("url must not contain credentials: the signature authenticates Keyflare to the receiver") }
        guard var host = components.host, !host.isEmpty else { throw .unprocessable("url must name a host") }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard components.fragment == nil else { throw .unprocessable("url must not have a fragment") }
        self.url = text
        self.host = host.lowercased()
    }

    private static func authority(of text: String) -> Substring {
        guard let start = text.range(of: "://")?.upperBound else { return "" }
        let rest = text[start...]
        return rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
    }

    /// Where a webhook may never lead unless private destinations are allowed: loopback, "this
    /// network", link-local, private and shared (CGNAT) IPv4, unique-local and link-local IPv6,
    /// and IPv4 embedded in IPv6 by NAT64 or 6to4.
    public static let forbiddenNetworks: [CIDR] = [
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4",
        "::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8", "64:ff9b::/96", "2002::/16",
    ].map { CIDR($0)! }

    /// Whether an address is one a webhook may not reach.
    /// - Parameters:
    ///   - address: a resolved or literal address.
    public static func isForbidden(_ address: IPAddress) -> Bool {
        forbiddenNetworks.contains { $0.contains(address) }
    }

    /// Checks the addresses the host resolved to: none, or any forbidden one, refuses it.
    /// - Parameters:
    ///   - addresses: what `resolve` found.
    public func check(_ addresses: [IPAddress]) throws(KeyflareError) {
        guard !addresses.isEmpty else { throw .unprocessable("url's host \(host) does not resolve") }
        if let bad = addresses.first(where: Self.isForbidden) {
            throw .unprocessable(
                "url leads to \(bad), a loopback, link-local or private address; webhooks may not reach those unless KEYFLARE_WEBHOOKS_ALLOW_PRIVATE=true")
        }
    }

    /// The host's addresses: itself for a literal, else what the system resolver finds. Blocks:
    /// call it on a thread of its own, never on the cooperative pool.
    public func resolve() -> [IPAddress] {
        if let literal = IPAddress(host) { return [literal] }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result else { return [] }
        defer { freeaddrinfo(first) }
        var addresses: [IPAddress] = []
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let current = node, addresses.count < 32 {
            if let sockaddr = current.pointee.ai_addr {
                switch Int32(current.pointee.ai_family) {
                case AF_INET:
                    sockaddr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { v4 in
                        var a = v4.pointee.sin_addr
                        addresses.append(IPAddress(bytes: withUnsafeBytes(of: &a) { Array($0) }))
                    }
                case AF_INET6:
                    sockaddr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { v6 in
                        var a = v6.pointee.sin6_addr
                        let raw = withUnsafeBytes(of: &a) { Array($0) }
                        // An IPv4-mapped address is its IPv4 address, as IPAddress parses it.
                        if raw[0..<10].allSatisfy({ $0 == 0 }) && raw[10] == 0xFF && raw[11] == 0xFF {
                            addresses.append(IPAddress(bytes: Array(raw[12..<16])))
                        } else {
                            addresses.append(IPAddress(bytes: raw))
                        }
                    }
                default: break
                }
            }
            node = current.pointee.ai_next
        }
        return addresses
    }
}
