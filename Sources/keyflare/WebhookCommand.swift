import ArgumentParser
import Foundation
import KeyflareCore
import KeyflareHTTP
import KeyflareStore
import Logging
import PQ

/// `keyflare webhook ...`: an account's webhooks from the command line, as an operator. Output is
/// the API's JSON; the secret is printed once, by `create`.
struct WebhookCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhook",
        abstract: "List, create and delete an account's signed webhooks.",
        subcommands: [List.self, Create.self, Delete.self]
    )

    /// Options every webhook command takes.
    struct Common: ParsableArguments {
        @OptionGroup var database: DatabaseOptions

        @Option(help: "The account id.")
        var account: String

        func validate() throws {
            if UUID(uuidString: account) == nil { throw ValidationError("--account must be an account id (a UUID)") }
        }

        var accountID: UUID { UUID(uuidString: account)! }

        /// Opens the database, checks the account exists, runs `body`, and closes the pool.
        func withStore<T>(_ body: (WebhookStore) async throws -> T) async throws -> T {
            let configuration = try database.configuration()
            LoggingSetup.bootstrap(configuration)
            let pool = try openPool(configuration, logger: Logger(label: "keyflare"))
            do {
                guard try await AccountStore(pool: pool).account(id: accountID) != nil else {
                    throw KeyflareError.notFound("no account with id \(accountID.uuidString.lowercased())")
                }
                let value = try await body(WebhookStore(pool: pool, allowPrivate: configuration.webhooksAllowPrivate))
                await pool.close()
                return value
            } catch {
                await pool.close()
                throw error
            }
        }
    }

    static func print<T: Encodable>(_ value: T) throws {
        Swift.print(String(decoding: try JSONResponse.encoder.encode(value), as: UTF8.self))
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the account's webhooks (never their secrets).")
        @OptionGroup var common: Common

        func run() async throws {
            try await reportingFailures {
                let list = try await common.withStore { try await $0.list(accountID: common.accountID) }
                try WebhookCommand.print(list.map { WebhookJSON(webhook: $0) })
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a webhook; prints it with its secret, shown this once.")
        @OptionGroup var common: Common
        @Option(help: "The receiver's http or https URL.") var url: String
        @Option(help: "Comma-separated events: \(WebhookEventType.allCases.map(\.rawValue).joined(separator: ", ")).")
        var events: String = WebhookEventType.tokenRevoked.rawValue

        func run() async throws {
            try await reportingFailures {
                let names = events.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                let (webhook, secret) = try await common.withStore {
                    try await $0.create(url: url, events: names, accountID: common.accountID, actor: .operator)
                }
                try WebhookCommand.print(WebhookJSON(webhook: webhook, secret: secret))
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a webhook and its pending deliveries.")
        @OptionGroup var common: Common
        @Argument(help: "The webhook id.") var id: String

        func run() async throws {
            try await reportingFailures {
                guard let webhookID = UUID(uuidString: id) else { throw KeyflareError.notFound("no webhook with id \(id)") }
                let deleted = try await common.withStore { try await $0.delete(id: webhookID, accountID: common.accountID, actor: .operator) }
                guard deleted else { throw KeyflareError.notFound("no webhook with id \(webhookID.uuidString.lowercased()) in this account") }
                Swift.print("deleted \(webhookID.uuidString.lowercased())")
            }
        }
    }
}
