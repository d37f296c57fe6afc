import KeyflareCore
import KeyflareServer
import Logging
import Testing

/// What the composition refuses before it builds anything.
@Suite struct ConfigurationValidationTests {
    @Test func malformedDatabaseURLIsOneLineWithoutTheURL() throws {
        var configuration = KeyflareConfiguration()
        configuration.databaseURL = "postgresql://user:s3cret pass@localhost:notaport/db"
        do {
            _ = try buildApplication(configuration: configuration, logger: Logger(label: "test"))
            Issue.record("expected a configuration error")
        } catch let error as ConfigurationError {
            #expect(error.message.hasPrefix("KEYFLARE_DATABASE_URL is malformed"))
            #expect(!error.message.contains("s3cret"))
            #expect(!error.message.contains("\n"))
        }
    }
}
