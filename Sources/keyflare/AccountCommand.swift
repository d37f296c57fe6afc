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
        subcommands: [Create.self, DefaultRateLimit.self, TokenPolicy.self]
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

    /// `keyflare account default-rate-limit`: what `PATCH /api/account {"default_rate_limit"}` sets.
    struct DefaultRateLimit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "default-rate-limit",
            abstract: "Set or clear the rate limit of the account's tokens that set none of their own; prints the account.",
            discussion: """
                Tokens with a rate limit of their own keep it. Every instance applies the change within \
                one notification.
                """)

        @OptionGroup var database: DatabaseOptions

        @Option(help: "The account id.")
        var account: String

        @Option(help: ArgumentHelp("Sustained requests per second (1 to 1000000).", valueName: "n"))
        var requestsPerSecond: Int?

        @Option(help: ArgumentHelp("Requests that may come at once above the rate (default: the rate).", valueName: "n"))
        var burst: Int?

        @Option(help: ArgumentHelp("Ingest events per second (default: not limited).", valueName: "n"))
        var eventsPerSecond: Int?

        @Flag(help: "Remove the default: tokens without a limit of their own are not limited.")
        var clear = false

        func validate() throws {
            if UUID(uuidString: account) == nil { throw ValidationError("--account must be an account id (a UUID)") }
            let givesLimit = requestsPerSecond != nil || burst != nil || eventsPerSecond != nil
            if clear && givesLimit { throw ValidationError("--clear contradicts --requests-per-second, --burst and --events-per-second") }
            if !clear && requestsPerSecond == nil {
                throw ValidationError("give --requests-per-second N (with --burst N and --events-per-second N if wanted), or --clear")
            }
        }

        func run() async throws {
            try await reportingFailures {
                // The API's own rules, checked before the database is opened.
                let limit: RateLimit? = clear ? nil : try TokenLimitOptions.flagWording {
                    try RateLimit.validated(requestsPerSecond: requestsPerSecond, burst: burst, eventsPerSecond: eventsPerSecond)
                }
                try await AccountCommand.change(account, database: database) { store, id in
                    try await store.setDefaultRateLimit(limit, id: id, actor: .operator)
                }
            }
        }
    }

    /// Opens the database, checks the account exists, makes `change`, and prints the account as
    /// `GET /api/account` shows it.
    static func change(
        _ account: String, database: DatabaseOptions, _ change: (AccountStore, UUID) async throws -> Void
    ) async throws {
        let accountID = UUID(uuidString: account)!
        let configuration = try database.configuration()
        LoggingSetup.bootstrap(configuration)
        let pool = try openPool(configuration, logger: Logger(label: "keyflare"))
        let shown: AccountJSON
        do {
            let store = AccountStore(pool: pool)
            guard let found = try await store.account(id: accountID) else {
                throw KeyflareError.notFound("no account with id \(accountID.uuidString.lowercased())")
            }
            try await change(store, accountID)
            let policy = try await store.tokenPolicy(id: accountID)
            shown = AccountJSON(
                account: found, defaultRateLimit: try await store.defaultRateLimit(id: accountID), tokenPolicy: policy,
                tokensOverPolicy: policy == nil ? [] : try await store.tokensOverPolicy(id: accountID))
        } catch {
            await pool.close()
            throw error
        }
        await pool.close()
        print(String(decoding: try JSONResponse.encoder.encode(shown), as: UTF8.self))
    }

    /// `keyflare account token-policy`: what `PATCH /api/account {"token_policy"}` sets.
    struct TokenPolicy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "token-policy",
            abstract: "Set or clear how long the account's new tokens may live; prints the account.",
            discussion: """
                Checked when a token is created, imported or rolled, through the API, the console and \
                this CLI. Existing tokens are not changed; the account's "tokens_over_policy" lists \
                those that break the policy.
                """)

        @OptionGroup var database: DatabaseOptions

        @Option(help: "The account id.")
        var account: String

        @Option(help: ArgumentHelp("Longest lifetime of a new token, in days (1 to 3650).", valueName: "days"))
        var maxLifetimeDays: Int?

        @Flag(help: "New tokens must have an expiry (implied by --max-lifetime-days).")
        var expiryRequired = false

        @Flag(help: "Remove the policy.")
        var clear = false

        func validate() throws {
            if UUID(uuidString: account) == nil { throw ValidationError("--account must be an account id (a UUID)") }
            if clear && (maxLifetimeDays != nil || expiryRequired) {
                throw ValidationError("--clear contradicts --max-lifetime-days and --expiry-required")
            }
            if !clear && maxLifetimeDays == nil && !expiryRequired {
                throw ValidationError("give --max-lifetime-days N and/or --expiry-required, or --clear")
            }
        }

        func run() async throws {
            try await reportingFailures {
                let policy: TokenLifetimePolicy? = clear ? nil : try TokenLimitOptions.flagWording {
                    try TokenLifetimePolicy.validated(maxLifetimeDays: maxLifetimeDays, expiryRequired: expiryRequired)
                }
                try await AccountCommand.change(account, database: database) { store, id in
                    try await store.setTokenPolicy(policy, id: id, actor: .operator)
                }
            }
        }
    }
}
