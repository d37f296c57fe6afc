import Foundation
import Testing

@testable import KeyflareCore

/// The webhook rules that need no network or database: URL form, forbidden addresses, event
/// names, backoff and the signature.
@Suite struct WebhookTests {
    @Test func urlsAreCheckedForForm() throws {
        for bad in ["ftp://x.test/", "x.test/hook", "http://", "http://a b/", "https://u:p@x.test/", "https://u@x.test/", "http://x.test/#f", "http://x.test/\u{7f}"] {
            #expect(throws: KeyflareError.self, "\(bad)") { try WebhookDestination(bad) }
        }
        #expect(try WebhookDestination("HTTPS://Hooks.Example.com:8443/k?x=1").host == "hooks.example.com")
        #expect(try WebhookDestination("http://[2001:db8::1]:8080/").host == "2001:db8::1")
        #expect(throws: KeyflareError.self) { try WebhookDestination("https://x.test/" + String(repeating: "a", count: 2048)) }
    }

    @Test func privateAndLocalAddressesAreForbidden() {
        for text in ["127.0.0.1", "127.255.0.9", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.0.1", "100.64.0.1", "100.127.255.255",
                     "169.254.169.254", "0.0.0.0", "::1", "::", "fc00::1", "fd12::1", "fe80::1", "::ffff:10.0.0.1", "64:ff9b::a00:1", "2002:a00:1::"] {
            #expect(WebhookDestination.isForbidden(IPAddress(text)!), "\(text)")
        }
        for text in ["8.8.8.8", "172.32.0.1", "100.128.0.1", "192.0.2.1", "203.0.113.7", "2001:db8::1", "2606:4700::1111"] {
            #expect(!WebhookDestination.isForbidden(IPAddress(text)!), "\(text)")
        }
        let destination = try! WebhookDestination("https://hooks.example.com/")
        #expect(throws: KeyflareError.self) { try destination.check([]) }
        // One forbidden address among public ones is enough to refuse: the client picks any of them.
        #expect(throws: KeyflareError.self) { try destination.check([IPAddress("8.8.8.8")!, IPAddress("10.0.0.1")!]) }
        #expect(throws: Never.self) { try destination.check([IPAddress("8.8.8.8")!]) }
    }

    @Test func eventNamesAreKnownAndDeduplicated() throws {
        #expect(try WebhookEventType.parse(["token.revoked", "token.expiring", "token.revoked"]) == [.tokenRevoked, .tokenExpiring])
        #expect(throws: KeyflareError.self) { try WebhookEventType.parse([]) }
        do {
            _ = try WebhookEventType.parse(["token.revoked", "token.nope"])
            Issue.record("accepted an unknown event")
        } catch {
            #expect(error.message.contains("\"token.nope\""))
        }
    }

    @Test func backoffDoublesUpToTheCapAndGivesUpAfterTheRetryPeriod() {
        let backoff = WebhookBackoff()
        #expect((1...5).map { backoff.delay(afterAttempts: $0) } == [.seconds(10), .seconds(20), .seconds(40), .seconds(80), .seconds(160)])
        #expect(backoff.delay(afterAttempts: 10) == .seconds(3600))
        #expect(backoff.delay(afterAttempts: 1_000) == .seconds(3600), "no overflow")
        #expect(!backoff.givesUp(age: .seconds(3600), delay: .seconds(3600)))
        #expect(backoff.givesUp(age: .seconds(86_000), delay: .seconds(3600)))
    }

    @Test func theSignatureIsHMACSHA256OfTimestampDotBody() {
        // The value Python computes: hmac.new(b"whsec_" + b"ab" * 32, b"1700000000.{}", hashlib.sha256).hexdigest()
        let secret = "whsec_" + String(repeating: "ab", count: 32)
        let body = Array("{}".utf8)
        let header = WebhookSignature.sign(body: body, timestamp: 1_700_000_000, secret: secret)
        #expect(header == "v1=b92e2f8ad8c0846d4cf9c719c9dfa0fa0dcff77f004615fb3f922c6ffe96915b")
        #expect(header.count == 67)
        #expect(WebhookSignature.verify(header: header, body: body, timestamp: 1_700_000_000, secret: secret))
        #expect(!WebhookSignature.verify(header: header, body: body, timestamp: 1_700_000_001, secret: secret))
        #expect(!WebhookSignature.verify(header: header, body: Array("{ }".utf8), timestamp: 1_700_000_000, secret: secret))
        let fresh = WebhookSignature.newSecret()
        #expect(fresh.hasPrefix("whsec_") && fresh.count == 70 && fresh != WebhookSignature.newSecret())
    }
}
