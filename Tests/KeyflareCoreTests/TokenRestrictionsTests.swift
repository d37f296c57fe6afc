import KeyflareCore
import Testing

/// Where a token may be used from: CIDR lists and origin patterns, matched as browsers send them.
@Suite struct TokenRestrictionsTests {
    @Test func originPatterns() throws {
        let exact = try OriginPattern(parsing: "HTTPS://App.Example.com")
        #expect(exact.description == "https://app.example.com")
        #expect(exact.matches("https://app.example.com") && exact.matches("https://APP.example.com"))
        #expect(!exact.matches("http://app.example.com") && !exact.matches("https://app.example.com:8443"))
        #expect(!exact.matches("https://app.example.com.evil.example") && !exact.matches("https://xapp.example.com"))
        let wildcard = try OriginPattern(parsing: "https://*.example.com")
        #expect(wildcard.matches("https://a.example.com") && wildcard.matches("https://a.b.example.com"))
        #expect(!wildcard.matches("https://example.com") && !wildcard.matches("https://evilexample.com"))
        #expect(!wildcard.matches("https://a.example.com:444"))
        let ported = try OriginPattern(parsing: "http://localhost:3000")
        #expect(ported.matches("http://localhost:3000") && !ported.matches("http://localhost") && !ported.matches("http://localhost:30001"))
        let v6 = try OriginPattern(parsing: "http://[::1]:8080")
        #expect(v6.matches("http://[::1]:8080") && !v6.matches("http://[::1]"))
        for bad in ["*", "https://*", "https://", "app.example.com", "https://a.example.com/", "https://a.example.com/x",
                    "https://a.example.com?x", "https://a.example.com#f", "https://u@a.example.com", "https://*.*.example.com",
                    "https://a.*.example.com", "https://a.example.com:", "https://a.example.com:123456", "https://a b.example.com"] {
            #expect(throws: KeyflareError.self, "\(bad)") { try OriginPattern(parsing: bad) }
        }
    }

    @Test func checks() throws {
        let r = try TokenRestrictions(parsing: ["203.0.113.0/24", "2001:db8::/32"], allowedOrigins: ["https://app.example.com"], requireOrigin: false)
        try r.check(clientIP: "203.0.113.7", origin: nil)
        try r.check(clientIP: "::ffff:203.0.113.7", origin: "https://app.example.com")
        try r.check(clientIP: "2001:db8::1", origin: nil)
        #expect(throws: KeyflareError.forbidden("this token may not be used from 198.51.100.1")) {
            try r.check(clientIP: "198.51.100.1", origin: nil)
        }
        #expect(throws: KeyflareError.self) { try r.check(clientIP: nil, origin: nil) }
        #expect(throws: KeyflareError.forbidden("this token may not be used from the origin https://evil.example")) {
            try r.check(clientIP: "203.0.113.7", origin: "https://evil.example")
        }
        let browsersOnly = try TokenRestrictions(parsing: [], allowedOrigins: [], requireOrigin: true)
        #expect(throws: KeyflareError.self) { try browsersOnly.check(clientIP: "192.0.2.1", origin: nil) }
        try browsersOnly.check(clientIP: "192.0.2.1", origin: "https://anything.example")
        #expect(TokenRestrictions.none.isEmpty && !browsersOnly.isEmpty)
        for bad in [["10.0.0.1/8"], ["10.0.0.0/33"], ["x"], [""], ["2001:db8::1/32"]] {
            #expect(throws: KeyflareError.self, "\(bad)") { try TokenRestrictions(parsing: bad, allowedOrigins: [], requireOrigin: false) }
        }
        #expect(throws: KeyflareError.self) {
            try TokenRestrictions(parsing: Array(repeating: "10.0.0.0/8", count: 101), allowedOrigins: [], requireOrigin: false)
        }
    }

    @Test func refererOrigins() {
        #expect(TokenRestrictions.origin(ofReferer: "https://App.example.com/page?x=1#y") == "https://app.example.com")
        #expect(TokenRestrictions.origin(ofReferer: "http://localhost:3000") == "http://localhost:3000")
        #expect(TokenRestrictions.origin(ofReferer: "not a url") == nil)
        #expect(TokenRestrictions.origin(ofReferer: "https:///path") == nil)
    }
}
