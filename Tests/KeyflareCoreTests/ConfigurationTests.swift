import KeyflareCore
import Testing

@Suite struct ConfigurationTests {
    @Test func defaults() throws {
        let configuration = try KeyflareConfiguration(environment: [:])
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.port == 4000)
        #expect(configuration.logFormat == .text)
        #expect(configuration.databaseURL == nil)
    }

    @Test func environmentIsRead() throws {
        let configuration = try KeyflareConfiguration(environment: [
            "KEYFLARE_DATABASE_URL": "postgresql://x@h/db", "KEYFLARE_HOST": "0.0.0.0", "KEYFLARE_PORT": "8080",
            "KEYFLARE_LOG_LEVEL": "DEBUG", "KEYFLARE_LOG_FORMAT": "json",
        ])
        #expect(configuration.databaseURL == "postgresql://x@h/db")
        #expect(configuration.host == "0.0.0.0")
        #expect(configuration.port == 8080)
        #expect(configuration.logLevel == "debug")
        #expect(configuration.logFormat == .json)
    }

    @Test func badValuesAreRejectedWithOneLine() {
        for (key, value) in [
            ("KEYFLARE_PORT", "eighty"), ("KEYFLARE_PORT", "70000"), ("KEYFLARE_LOG_FORMAT", "xml"),
            ("KEYFLARE_LOG_LEVEL", "loud"),
        ] {
            #expect(throws: ConfigurationError.self) { try KeyflareConfiguration(environment: [key: value]) }
        }
    }

    @Test func emailsAreValidated() throws {
        #expect(try User.validateEmail(" a@b.co ") == "a@b.co")
        for bad in ["", "a", "a@b", "@b.co", "a@.co", "a b@c.co", "a@b@c.co"] {
            #expect(throws: KeyflareError.self) { try User.validateEmail(bad) }
        }
        #expect(throws: KeyflareError.self) { try Account.validateName("   ") }
    }

    @Test func rfc3339RoundTrips() throws {
        let date = try #require(RFC3339.parse("2026-11-29T09:15:09.123Z"))
        #expect(RFC3339.format(date) == "2026-11-29T09:15:09.123Z")
        #expect(RFC3339.parse("2026-11-29T10:15:09+01:00") == RFC3339.parse("2026-11-29T09:15:09Z"))
        #expect(RFC3339.parse("yesterday") == nil)
    }
}
