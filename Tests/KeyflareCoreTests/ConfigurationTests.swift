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

    /// Self-hosted Supabase ships free-form LOGFLARE_*_ACCESS_TOKEN values: seeded as imported tokens.
    @Test func freeFormSeedValuesAreAccepted() throws {
        let configuration = try KeyflareConfiguration(environment: [
            "KEYFLARE_SINGLE_TENANT": "true", "KEYFLARE_PUBLIC_ACCESS_TOKEN": "self-hosted-supabase-style-secret-0042",
        ])
        #expect(configuration.seedTokens[.public] == "self-hosted-supabase-style-secret-0042")
        // Never the example value Supabase publishes.
        #expect(throws: ConfigurationError.self) {
            try KeyflareConfiguration(environment: [
                "KEYFLARE_SINGLE_TENANT": "true", "KEYFLARE_PRIVATE_ACCESS_TOKEN": "your-super-secret-and-long-logflare-key-private",
            ])
        }
    }

    @Test func singleTenantSeedTokensMustBeKeyflareTokensOfTheirKind() throws {
        let publicToken = TokenFormat.generate(kind: .public)
        let privateToken = TokenFormat.generate(kind: .private)
        let seeded = try KeyflareConfiguration(environment: [
            "KEYFLARE_SINGLE_TENANT": "true", "KEYFLARE_PUBLIC_ACCESS_TOKEN": publicToken,
            "KEYFLARE_PRIVATE_ACCESS_TOKEN": privateToken,
        ])
        #expect(seeded.singleTenant)
        #expect(seeded.seedTokens == [.public: publicToken, .private: privateToken])
        // Printing or dumping the settings never shows a secret.
        var dumped = ""
        dump(seeded, to: &dumped)
        for text in ["\(seeded)", dumped] { #expect(!text.contains(publicToken) && !text.contains(privateToken)) }
        #expect(try KeyflareConfiguration(environment: ["KEYFLARE_SINGLE_TENANT": "1"]).seedTokens.isEmpty)
        #expect(try !KeyflareConfiguration(environment: [:]).singleTenant)

        var corrupted = Array(privateToken)
        corrupted[10] = corrupted[10] == "a" ? "b" : "a"
        let bad: [[String: String]] = [
            ["KEYFLARE_SINGLE_TENANT": "maybe"],
            // Seeding without single-tenant mode.
            ["KEYFLARE_PUBLIC_ACCESS_TOKEN": publicToken],
            // The wrong kind for the variable.
            ["KEYFLARE_SINGLE_TENANT": "true", "KEYFLARE_PUBLIC_ACCESS_TOKEN": privateToken],
            ["KEYFLARE_SINGLE_TENANT": "true", "KEYFLARE_PRIVATE_ACCESS_TOKEN": publicToken],
            // Neither Keyflare's format nor a value that could be imported, or a bad checksum.
            ["KEYFLARE_SINGLE_TENANT": "true", "KEYFLARE_PRIVATE_ACCESS_TOKEN": "my-short"],
            ["KEYFLARE_SINGLE_TENANT": "true", "KEYFLARE_PRIVATE_ACCESS_TOKEN": "my own secret, with spaces"],
            ["KEYFLARE_SINGLE_TENANT": "true", "KEYFLARE_PRIVATE_ACCESS_TOKEN": String(corrupted)],
        ]
        for environment in bad {
            let error = #expect(throws: ConfigurationError.self) { try KeyflareConfiguration(environment: environment) }
            // The message never repeats a secret.
            for value in environment.values where value.hasPrefix("kf_") || value.hasPrefix("my-") {
                #expect(error?.message.contains(value) == false)
            }
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
