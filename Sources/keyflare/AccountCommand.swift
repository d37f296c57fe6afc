import ArgumentParser
import Crypto
import Foundation
import KeyflareCore
import KeyflareHTTP
import KeyflareStore
import Logging

/// `keyflare account ...`: manage accounts from the command line.
struct AccountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "account",
        abstract: "Manage accounts.",
        subcommands: [Create.self]
    )

    /// `keyflare account create`.
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an account and its first user; prints one JSON object on stdout.",
            discussion: """
                Without --password-stdin a random password is generated and included in the output as
                "password"; it is not stored anywhere in plain text.
                """
        )

        @OptionGroup var database: DatabaseOptions

        @Option(help: "The account's display name.")
        var name: String

        @Option(help: "The first user's sign-in email.")
        var email: String

        @Flag(help: "Read the user's password from standard input (first line).")
        var passwordStdin = false

        func run() async throws {
            try await reportingFailures {
                let configuration = try database.configuration()
                LoggingSetup.bootstrap(configuration)
                let logger = Logger(label: "keyflare")
                var generated: String?
                let password: String
                if passwordStdin {
                    guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                        throw ConfigurationError("--password-stdin: no password on standard input")
                    }
                    password = line
                } else {
                    password = Self.randomPassword()
                    generated = password
                }
                guard password.count >= User.minPasswordLength else {
                    throw ConfigurationError("the password must be at least \(User.minPasswordLength) characters")
                }
                let pool = try openPool(configuration, logger: logger)
                let hash = try await PasswordHasher().hash(password)
                let result: (account: Account, user: User, managementToken: String)
                do {
                    result = try await AccountStore(pool: pool).create(name: name, email: email, passwordHash: hash)
                } catch {
                    await pool.close()
                    throw error
                }
                await pool.close()
                var output: [String: String] = [
                    "account_id": result.account.id.uuidString.lowercased(),
                    "user_id": result.user.id.uuidString.lowercased(),
                    "management_token": result.managementToken,
                ]
                if let generated { output["password"] = generated }
                let data = try JSONSerialization.data(withJSONObject: output, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            }
        }

        /// 20 characters from a CSPRNG, letters and digits.
        static func randomPassword() -> String {
            let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")
            var generator = SystemRandomNumberGenerator()
            return String((0..<20).map { _ in alphabet.randomElement(using: &generator)! })
        }
    }
}
