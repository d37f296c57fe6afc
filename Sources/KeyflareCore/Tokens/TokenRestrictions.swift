/// Where a token may be used from: client networks (`allowed_ips`) and, for pages, web origins
/// (`allowed_origins`, `require_origin`). Empty lists allow everything, so a token without
/// restrictions costs one `isEmpty` check per request.
///
/// An origin list stops other web pages from using a public token scraped from a page: browsers
/// send `Origin` (or `Referer`) and pages cannot forge it. It does not stop a server-side client,
/// which can send any header it likes; `allowed_ips` and rate limits are for those.
public struct TokenRestrictions: Sendable, Equatable {
    /// Client networks the token may be used from; empty for any.
    public let allowedIPs: [CIDR]
    /// Web origins pages may use it from; empty for any.
    public let allowedOrigins: [OriginPattern]
    /// Whether a request must carry `Origin` or `Referer` (so only browsers, from allowed pages).
    public let requireOrigin: Bool

    /// None: usable from anywhere.
    public static let none = TokenRestrictions(allowedIPs: [], allowedOrigins: [], requireOrigin: false)

    /// Most entries in either list.
    public static let maxEntries = 100

    /// - Parameters:
    ///   - allowedIPs: client networks; empty for any.
    ///   - allowedOrigins: web origins; empty for any.
    ///   - requireOrigin: whether a browser origin is required.
    public init(allowedIPs: [CIDR], allowedOrigins: [OriginPattern], requireOrigin: Bool) {
        self.allowedIPs = allowedIPs
        self.allowedOrigins = allowedOrigins
        self.requireOrigin = requireOrigin
    }

    /// Validated restrictions from their text, 422 naming the first bad entry.
    /// - Parameters:
    ///   - allowedIPs: CIDRs or bare addresses, v4 or v6.
    ///   - allowedOrigins: `scheme://host[:port]`, or `scheme://*.domain[:port]`.
    ///   - requireOrigin: whether a browser origin is required.
    public init(parsing allowedIPs: [String], allowedOrigins: [String], requireOrigin: Bool) throws {
        guard allowedIPs.count <= Self.maxEntries, allowedOrigins.count <= Self.maxEntries else {
            throw KeyflareError.unprocessable("allowed_ips and allowed_origins take at most \(Self.maxEntries) entries each")
        }
        self.allowedIPs = try allowedIPs.map { text in
            guard text.utf8.count <= 64, let block = CIDR(text) else {
                throw KeyflareError.unprocessable(
                    "allowed_ips entry \"\(Self.shown(text))\" is not a CIDR block (such as 203.0.113.0/24 or 2001:db8::/32) with no host bits set past its prefix")
            }
            return block
        }
        self.allowedOrigins = try allowedOrigins.map { try OriginPattern(parsing: $0) }
        self.requireOrigin = requireOrigin
    }

    /// Whether anything is restricted.
    public var isEmpty: Bool { allowedIPs.isEmpty && allowedOrigins.isEmpty && !requireOrigin }

    /// Throws 403 unless a request from `clientIP`, with the given browser origin, may use the
    /// token. The messages name only what the caller sent itself.
    /// - Parameters:
    ///   - clientIP: the client's address (after trusted proxies), if known.
    ///   - origin: the request's `Origin`, or the origin of its `Referer`, if any.
    public func check(clientIP: String?, origin: String?) throws {
        if !allowedIPs.isEmpty {
            let address = clientIP.flatMap { IPAddress($0) }
            guard let address, allowedIPs.contains(where: { $0.contains(address) }) else {
                throw KeyflareError.forbidden("this token may not be used from \(clientIP ?? "an unknown address")")
            }
        }
        guard let origin else {
            if requireOrigin {
                throw KeyflareError.forbidden("this token may only be used from a web page (the request has no Origin or Referer)")
            }
            return
        }
        if !allowedOrigins.isEmpty, !allows(origin: origin) {
            throw KeyflareError.forbidden("this token may not be used from the origin \(Self.shown(origin))")
        }
    }

    /// Whether `origin` is on the list (true when the list is empty).
    /// - Parameters:
    ///   - origin: a request's origin.
    public func allows(origin: String) -> Bool {
        allowedOrigins.isEmpty || allowedOrigins.contains { $0.matches(origin) }
    }

    /// The origin of a `Referer` URL (`https://a.example/page` → `https://a.example`), if it has one.
    /// - Parameters:
    ///   - referer: the header's value.
    public static func origin(ofReferer referer: String) -> String? {
        guard let schemeEnd = referer.range(of: "://") else { return nil }
        let rest = referer[schemeEnd.upperBound...]
        let host = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !host.isEmpty else { return nil }
        return String(referer[..<schemeEnd.upperBound]).lowercased() + host.lowercased()
    }

    /// At most 100 scalars of a caller's text, for a message.
    static func shown(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard scalars.count > 100 else { return text }
        return String(String.UnicodeScalarView(scalars.prefix(100))) + "…"
    }
}

/// One entry of `allowed_origins`: an exact origin (`https://app.example.com`, `http://localhost:3000`)
/// or every subdomain of a domain (`https://*.example.com`, which does not match `example.com`
/// itself). Compared with the request's origin lower-cased; the scheme and port must match.
public struct OriginPattern: Sendable, Equatable, CustomStringConvertible {
    /// `https://`, `http://`, …
    public let scheme: String
    /// The host (for a wildcard, the domain after `*.`), lower-cased.
    public let host: String
    /// `:8443` or empty.
    public let port: String
    /// Whether any subdomain of `host` matches.
    public let wildcard: Bool

    /// Parses an entry: 422 for a path, a query, a fragment, user info, a bare `*` or an empty host.
    /// - Parameters:
    ///   - text: the entry.
    public init(parsing text: String) throws {
        let refused = KeyflareError.unprocessable(
            "allowed_origins entry \"\(TokenRestrictions.shown(text))\" must be an origin such as https://app.example.com or https://*.example.com (no path, query or bare *)")
        let lower = text.lowercased()
        guard lower.utf8.count <= 260, let schemeEnd = lower.range(of: "://") else { throw refused }
        let scheme = String(lower[..<schemeEnd.upperBound])
        guard scheme.count > 3, scheme.dropLast(3).allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) })
        else { throw refused }
        var authority = Substring(lower[schemeEnd.upperBound...])
        guard !authority.isEmpty, !authority.contains(where: { "/?#@ ".contains($0) || $0.isWhitespace }) else { throw refused }
        var port = ""
        if let colon = authority.lastIndex(of: ":"), !authority.hasPrefix("[") || authority[..<colon].hasSuffix("]") {
            let digits = authority[authority.index(after: colon)...]
            guard !digits.isEmpty, digits.count <= 5, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { throw refused }
            port = ":" + digits
            authority = authority[..<colon]
        }
        let wildcard = authority.hasPrefix("*.")
        if wildcard { authority = authority.dropFirst(2) }
        guard !authority.isEmpty, !authority.contains("*"),
            authority.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-.[]:".contains($0)) })
        else { throw refused }
        self.scheme = scheme
        self.host = String(authority)
        self.port = port
        self.wildcard = wildcard
    }

    /// Whether a request's origin (`scheme://host[:port]`) matches.
    /// - Parameters:
    ///   - origin: the origin as the browser sent it.
    public func matches(_ origin: String) -> Bool {
        let origin = origin.lowercased()
        guard origin.hasPrefix(scheme), origin.hasSuffix(port) else { return false }
        var host = origin.dropFirst(scheme.count).dropLast(port.count)
        // A port the pattern does not have (an IPv6 host's own colons are inside its brackets).
        if port.isEmpty, host.contains(":"), !host.hasSuffix("]") { return false }
        guard wildcard else { return host == self.host }
        guard host.hasSuffix("." + self.host) else { return false }
        host = host.dropLast(self.host.count + 1)
        return !host.isEmpty
    }

    /// The entry as written, normalised: `https://*.example.com:8443`.
    public var description: String { scheme + (wildcard ? "*." : "") + host + port }
}
