import KeyflareCore
import Testing

@Suite struct ClientAddressTests {
    @Test func cidrBlocksParseAndMatch() throws {
        let ten = try #require(CIDR("10.0.0.0/8"))
        #expect(ten.contains(IPAddress("10.200.3.4")!))
        #expect(!ten.contains(IPAddress("11.0.0.1")!))
        #expect(!ten.contains(IPAddress("::1")!))
        let v6 = try #require(CIDR("2001:db8::/32"))
        #expect(v6.contains(IPAddress("2001:db8:ffff::1")!))
        #expect(!v6.contains(IPAddress("2001:db9::1")!))
        let one = try #require(CIDR("127.0.0.1"))
        #expect(one.prefixLength == 32)
        #expect(one.contains(IPAddress("::ffff:127.0.0.1")!))  // IPv4-mapped is the IPv4 address
        #expect(CIDR("0.0.0.0/0")!.contains(IPAddress("203.0.113.9")!))
        #expect(CIDR("10.0.0.0/12")!.contains(IPAddress("10.15.255.255")!))
        #expect(!CIDR("10.0.0.0/12")!.contains(IPAddress("10.16.0.0")!))
        // An IPv4-mapped IPv6 block is the IPv4 block it maps.
        #expect(CIDR("::ffff:10.0.0.0/104") == CIDR("10.0.0.0/8"))
        #expect(CIDR("::ffff:10.0.0.0/95") == nil)
    }

    @Test(arguments: ["10.0.0.1/8", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "10.0.0/8", "example.com", "", "::1/129",
        "2001:db8::1/32", "10.0.0.0/8/8", "1.2.3.4 ", "[::1]"])
    func malformedBlocksAreRefused(_ text: String) {
        #expect(CIDR(text) == nil)
    }

    static let proxies = ClientAddressResolver(trusted: [CIDR("10.0.0.0/8")!, CIDR("127.0.0.1")!])

    @Test func withoutTrustedProxiesThePeerIsTheClient() {
        let none = ClientAddressResolver(trusted: [])
        #expect(none.resolve(peer: "10.0.0.5", values: ["203.0.113.9"]) == "10.0.0.5")
    }

    @Test func anUntrustedPeersHeaderIsIgnored() {
        #expect(Self.proxies.resolve(peer: "198.51.100.7", values: ["203.0.113.9"]) == "198.51.100.7")
    }

    @Test func theRightMostUntrustedAddressIsTheClient() {
        // The client wrote "6.6.6.6, 10.1.1.1" itself; the proxies appended 203.0.113.9 and 10.0.0.2.
        #expect(Self.proxies.resolve(peer: "10.0.0.3", values: ["6.6.6.6, 10.1.1.1, 203.0.113.9", "10.0.0.2"]) == "203.0.113.9")
        #expect(Self.proxies.resolve(peer: "127.0.0.1", values: ["203.0.113.9"]) == "203.0.113.9")
        #expect(Self.proxies.resolve(peer: "127.0.0.1", values: []) == "127.0.0.1")
        #expect(Self.proxies.resolve(peer: "127.0.0.1", values: ["2001:db8::7"]) == "2001:db8::7")
        #expect(Self.proxies.resolve(peer: "127.0.0.1", values: ["203.0.113.9:4711"]) == "203.0.113.9")
    }

    @Test func garbageStopsTheWalkAtTheLastAddressThatParsed() {
        #expect(Self.proxies.resolve(peer: "127.0.0.1", values: ["<script>, 10.0.0.9"]) == "10.0.0.9")
        #expect(Self.proxies.resolve(peer: "127.0.0.1", values: ["unknown"]) == "127.0.0.1")
    }

    @Test func forwardedHeaderElements() {
        let resolver = ClientAddressResolver(trusted: [CIDR("127.0.0.1")!], header: .forwarded)
        #expect(resolver.resolve(peer: "127.0.0.1", values: [#"for=6.6.6.6, for="[2001:db8::1]:4711";proto=https"#]) == "2001:db8::1")
        #expect(resolver.resolve(peer: "127.0.0.1", values: ["proto=http;For=203.0.113.4"]) == "203.0.113.4")
    }

    @Test func configurationReadsTheList() throws {
        let configuration = try KeyflareConfiguration(environment: [
            "KEYFLARE_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1 ::1", "KEYFLARE_CLIENT_ADDRESS_HEADER": "Forwarded",
        ])
        #expect(configuration.trustedProxies.map(\.description) == ["10.0.0.0/8", "127.0.0.1/32", "::1/128"])
        #expect(configuration.clientAddressHeader == .forwarded)
        #expect(try KeyflareConfiguration(environment: [:]).trustedProxies.isEmpty)
        #expect(throws: ConfigurationError.self) { try KeyflareConfiguration(environment: ["KEYFLARE_TRUSTED_PROXIES": "10.0.0.1/8"]) }
        #expect(throws: ConfigurationError.self) { try KeyflareConfiguration(environment: ["KEYFLARE_CLIENT_ADDRESS_HEADER": "x-real-ip"]) }
    }
}

/// Failed verifications per address: the attempt is counted before its lookup, so parallel ones
/// cannot all pass the check, and a good token gives its attempt back.
@Suite struct FailureLimiterTests {
    @Test func reservationsHoldTheLimitAndGoodTokensGiveThemBack() async {
        let limiter = FailureLimiter(limit: 5)
        let granted = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<100 { group.addTask { limiter.reserve("203.0.113.9") } }
            var count = 0
            for await ok in group where ok { count += 1 }
            return count
        }
        #expect(granted == 5)
        limiter.release("203.0.113.9")
        #expect(limiter.reserve("203.0.113.9"))
        #expect(!limiter.reserve("203.0.113.9"))
        #expect(limiter.reserve("198.51.100.1"), "another address is not affected")
        #expect(limiter.reserve(nil), "an unknown address is never limited")
    }

    @Test func ipv6CountsByItsSlash64() {
        let limiter = FailureLimiter(limit: 2)
        #expect(limiter.reserve("2001:db8:1:2::1"))
        #expect(limiter.reserve("2001:db8:1:2::ffff"))
        #expect(!limiter.reserve("2001:db8:1:2:aaaa::1"), "the same /64")
        #expect(limiter.reserve("2001:db8:1:3::1"), "another /64")
        #expect(FailureLimiter.key("2001:db8:1:2::1") == FailureLimiter.key("2001:db8:1:2:ffff::9"))
        #expect(FailureLimiter.key("203.0.113.9") == "203.0.113.9")
    }
}

@Suite struct ClientKeyTests {
    @Test func keysPrintAsTheAddressAndMappedIPv4IsIPv4() {
        #expect(ClientKey("203.0.113.7").description == "203.0.113.7")
        #expect(ClientKey("2001:DB8::1").description == "2001:db8::1")
        #expect(ClientKey("::ffff:192.0.2.1") == ClientKey("192.0.2.1"))
        #expect(ClientKey("::1").description == "::1")
        // A forwarded value that is not an address stays as it is; others is the empty string.
        #expect(ClientKey("unknown") == .text("unknown"))
        #expect(ClientKey.others.description == "")
        #expect(ClientKey("10.0.0.1") != ClientKey("10.0.0.2"))
    }
}
