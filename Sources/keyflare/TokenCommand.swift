import ArgumentParser
import Foundation
import KeyflareCore
import KeyflareHTTP
import KeyflareStore
import Logging
import PQ

/// `keyflare token ...`: manage an account's tokens from the command line, as an operator.
/// Changes are recorded in the audit log with the actor `operator`.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "List, create, update, revoke and roll an account's access tokens; generate one offline for seeding.",
        subcommands: [List.self, Create.self, Update.self, Import.self, Revoke.self, Disable.self, Enable.self, Roll.self, Generate.self]
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case json, table
    }

    /// Options every token command takes.
    struct Common: ParsableArguments {
        @OptionGroup var database: DatabaseOptions

        @Option(help: "The account id.")
        var account: String

        @Option(help: "Output format: json (default) or table.")
        var format: Format = .json

        func validate() throws {
            if UUID(uuidString: account) == nil { throw ValidationError("--account must be an account id (a UUID)") }
        }

        var accountID: UUID { UUID(uuidString: account)! }

        /// Opens the database, checks the account exists, runs `body`, and closes the pool.
        func withStores<T>(_ body: (AccessTokenStore) async throws -> T) async throws -> T {
            let configuration = try database.configuration()
            LoggingSetup.bootstrap(configuration)
            let pool = try openPool(configuration, logger: Logger(label: "keyflare"))
            do {
                guard try await AccountStore(pool: pool).account(id: accountID) != nil else {
                    throw KeyflareError.notFound("no account with id \(accountID.uuidString.lowercased())")
                }
                let value = try await body(AccessTokenStore(pool: pool))
                await pool.close()
                return value
            } catch {
                await pool.close()
                throw error
            }
        }

        /// Prints tokens as JSON (one object, or an array) or as a table.
        func output(_ tokens: [(AccessToken, String?)], single: Bool) throws {
            switch format {
            case .json:
                let values = tokens.map { TokenJSON(token: $0.0, secret: $0.1) }
                let data = single ? try JSONResponse.encoder.encode(values[0]) : try JSONResponse.encoder.encode(values)
                print(String(decoding: data, as: UTF8.self))
            case .table:
                print(TokenTable.render(tokens.map(\.0)))
                for (token, secret) in tokens {
                    if let secret { print("\nsecret of \(token.id.uuidString.lowercased()) (shown once): \(secret)") }
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the account's tokens.")
        @OptionGroup var common: Common
        @Flag(help: "Include revoked tokens.") var includeRevoked = false

        func run() async throws {
            try await reportingFailures {
                let tokens = try await common.withStores { try await $0.list(accountID: common.accountID, includeRevoked: includeRevoked) }
                try common.output(tokens.map { ($0, nil) }, single: false)
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a token; its secret is printed once.")
        @OptionGroup var common: Common
        @Option(help: "Free text.") var description = ""
        @Option(help: "Space-separated scopes (default: ingest).") var scopes = "ingest"
        @Option(help: "Expire after this many seconds.") var expiresIn: Int?
        @OptionGroup(title: "Where it may be used from, and how often") var limits: TokenLimitOptions
        @Flag(help: "Make a canary: it grants nothing (the scopes are a decoy); any use is refused as an unknown token and recorded.")
        var canary = false

        func run() async throws {
            try await reportingFailures {
                let parsed = try Scope.parseList(scopes.split(separator: " ").map(String.init))
                if let expiresIn, expiresIn <= 0 { throw ValidationError("--expires-in must be positive") }
                let expiry = try expiresIn.map { try TokenExpiry.after(seconds: $0) }
                // Checked before the database is opened: a refused value stores nothing.
                let restrictions = try limits.restrictions()
                let rateLimit = try limits.rateLimit()
                let (token, secret) = try await common.withStores {
                    try await $0.create(
                        accountID: common.accountID, description: description, scopes: parsed, expiresAt: expiry, actor: .operator,
                        restrictions: restrictions, rateLimit: rateLimit, canary: canary)
                }
                try common.output([(token, secret)], single: true)
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a token's description, allow-lists or rate limit, on every instance.",
            discussion: """
                Only what is given changes. --allowed-ip and --allowed-origin replace their list; \
                --requests-per-second, --burst and --events-per-second change those values of the \
                token's rate limit and keep the others.
                """)
        @OptionGroup var common: Common
        @Argument(help: "The token id.") var id: String
        @Option(help: "New free text.") var description: String?
        @OptionGroup(title: "Where it may be used from, and how often") var limits: TokenLimitOptions
        @Flag(help: "Remove every allowed network (usable from any address).") var clearAllowedIps = false
        @Flag(help: "Remove every allowed origin (usable from any page).") var clearAllowedOrigins = false
        @Flag(help: "Stop requiring Origin or Referer.") var noRequireOrigin = false
        @Flag(help: "Remove the token's own rate limit (the account's default, if any, applies).") var clearRateLimit = false

        func validate() throws {
            if UUID(uuidString: id) == nil { throw ValidationError("the token id must be a UUID") }
            for (clear, given, clearFlag, flag) in [
                (clearAllowedIps, !limits.allowedIPs.isEmpty, "--clear-allowed-ips", "--allowed-ip"),
                (clearAllowedOrigins, !limits.allowedOrigins.isEmpty, "--clear-allowed-origins", "--allowed-origin"),
                (noRequireOrigin, limits.requireOrigin, "--no-require-origin", "--require-origin"),
                (clearRateLimit, limits.givesRateLimit, "--clear-rate-limit", "--requests-per-second, --burst or --events-per-second"),
            ] where clear && given {
                throw ValidationError("\(clearFlag) contradicts \(flag): give one or the other")
            }
            let changesSomething = description != nil || limits.givesRestrictions || limits.givesRateLimit || clearAllowedIps
                || clearAllowedOrigins || noRequireOrigin || clearRateLimit
            if !changesSomething { throw ValidationError("nothing to change: give --description, an allow-list or a rate-limit option") }
        }

        func run() async throws {
            try await reportingFailures {
                let tokenID = UUID(uuidString: id)!
                let token = try await common.withStores { store -> AccessToken? in
                    guard let current = try await store.find(id: tokenID, accountID: common.accountID) else { return nil }
                    // Refused values throw here, before anything is written.
                    let (restrictions, rateLimit) = try changes(over: current)
                    return try await store.update(
                        id: tokenID, accountID: common.accountID, description: description, restrictions: restrictions,
                        rateLimit: rateLimit, actor: .operator)
                }
                guard let token else { throw KeyflareError.notFound("the account has no token with this id") }
                try common.output([(token, nil)], single: true)
            }
        }

        /// The restrictions (nil: unchanged) and rate limit (nil: unchanged, `.some(nil)`: removed)
        /// after the flags given, over the token's own.
        func changes(over current: AccessToken) throws -> (TokenRestrictions?, RateLimit??) {
            var restrictions: TokenRestrictions?
            if limits.givesRestrictions || clearAllowedIps || clearAllowedOrigins || noRequireOrigin {
                let ips = clearAllowedIps ? [] : limits.allowedIPs.isEmpty ? current.restrictions.allowedIPs.map(\.description) : limits.allowedIPs
                let origins = clearAllowedOrigins
                    ? [] : limits.allowedOrigins.isEmpty ? current.restrictions.allowedOrigins.map(\.description) : limits.allowedOrigins
                let requireOrigin = noRequireOrigin ? false : limits.requireOrigin || current.restrictions.requireOrigin
                restrictions = try TokenLimitOptions.flagWording {
                    try TokenRestrictions(parsing: ips, allowedOrigins: origins, requireOrigin: requireOrigin)
                }
            }
            let rateLimit: RateLimit?? =
                clearRateLimit ? .some(nil) : limits.givesRateLimit ? .some(try limits.rateLimit(over: current.rateLimit)) : nil
            return (restrictions, rateLimit)
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import an existing token of any format (Logflare's, Supabase's): clients keep using it unchanged.",
            discussion: """
                The token is read from the first line of standard input (never from an argument, which \
                other users could read from the process list). It is stored only as its SHA-256 and its \
                last four characters, and verified, cached and revoked like Keyflare's own. It must be 16 \
                to 512 visible ASCII characters. Logflare's scopes name sources by number; give Keyflare's.
                """)
        @OptionGroup var common: Common
        @Option(help: "Free text.") var description = "imported"
        @Option(help: "Space-separated scopes (default: ingest).") var scopes = "ingest"
        @Option(help: "Expire after this many seconds.") var expiresIn: Int?
        @Flag(help: "Read the token from the first line of standard input (required).") var valueStdin = false

        func validate() throws {
            guard valueStdin else { throw ValidationError("--value-stdin is required: the token is read from standard input") }
        }

        func run() async throws {
            try await reportingFailures {
                guard let line = readLine(strippingNewline: true) else { throw ValidationError("no token on standard input") }
                let secret = line.hasSuffix("\r") ? String(line.dropLast()) : line
                let parsed = try Scope.parseList(scopes.split(separator: " ").map(String.init), emptyMeansIngest: true)
                let expiry = try expiresIn.map { try TokenExpiry.after(seconds: $0) }
                let token = try await common.withStores {
                    try await $0.importToken(
                        secret, accountID: common.accountID, description: description, scopes: parsed, expiresAt: expiry,
                        actor: .operator)
                }
                // The secret is not printed back: the operator has it, and output may be logged.
                try common.output([(token, nil)], single: true)
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token at once, on every instance.")
        @OptionGroup var common: Common
        @Argument(help: "The token id.") var id: String

        func run() async throws {
            try await reportingFailures {
                guard let tokenID = UUID(uuidString: id) else { throw ValidationError("the token id must be a UUID") }
                let token = try await common.withStores { store -> AccessToken? in
                    guard try await store.revoke(id: tokenID, accountID: common.accountID, actor: .operator) else { return nil }
                    return try await store.find(id: tokenID, accountID: common.accountID)
                }
                guard let token else { throw KeyflareError.notFound("the account has no token with this id") }
                try common.output([(token, nil)], single: true)
            }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Disable a token on every instance, keeping its settings and history (undo with enable).")
        @OptionGroup var common: Common
        @Argument(help: "The token id.") var id: String

        func run() async throws { try await TokenCommand.toggle(disabled: true, id: id, common: common) }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable a disabled token again, on every instance.")
        @OptionGroup var common: Common
        @Argument(help: "The token id.") var id: String

        func run() async throws { try await TokenCommand.toggle(disabled: false, id: id, common: common) }
    }

    static func toggle(disabled: Bool, id: String, common: Common) async throws {
        try await reportingFailures {
            guard let tokenID = UUID(uuidString: id) else { throw ValidationError("the token id must be a UUID") }
            let token = try await common.withStores {
                try await $0.setDisabled(disabled, id: tokenID, accountID: common.accountID, actor: .operator)
            }
            guard let token else { throw KeyflareError.notFound("the account has no token with this id") }
            try common.output([(token, nil)], single: true)
        }
    }

    struct Roll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace a token: a new one with the same scopes, the old one expiring after a grace period.")
        @OptionGroup var common: Common
        @Argument(help: "The token id.") var id: String
        @Option(help: "Seconds the old token keeps working (0 revokes it at once; at most 30 days).") var graceSeconds = 0

        func run() async throws {
            try await reportingFailures {
                guard let tokenID = UUID(uuidString: id) else { throw ValidationError("the token id must be a UUID") }
                let rolled = try await common.withStores {
                    try await $0.roll(id: tokenID, accountID: common.accountID, graceSeconds: graceSeconds, actor: .operator)
                }
                guard let rolled else { throw KeyflareError.notFound("the account has no token with this id") }
                try common.output([(rolled.new, rolled.secret), (rolled.old, nil)], single: false)
            }
        }
    }
}

extension TokenCommand {
    /// `keyflare token generate`: a fresh secret in Keyflare's format, made offline and stored
    /// nowhere, for KEYFLARE_PUBLIC_ACCESS_TOKEN / KEYFLARE_PRIVATE_ACCESS_TOKEN.
    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a fresh token secret (offline; nothing is stored) for single-tenant seeding.")

        @Option(name: .customLong("type"), help: "public or private.")
        var kind: TokenKind

        func run() {
            print(TokenFormat.generate(kind: kind))
        }
    }
}

extension TokenKind: ExpressibleByArgument {}

/// A plain-text table of tokens, for people.
enum TokenTable {
    static func render(_ tokens: [AccessToken]) -> String {
        let header = [
            "ID", "TYPE", "STATUS", "DESCRIPTION", "SCOPES", "HINT", "CREATED", "EXPIRES", "LAST USED", "RATE LIMIT", "ALLOWED IPS",
            "ALLOWED ORIGINS",
        ]
        let now = Date()
        let rows = tokens.map { t -> [String] in
            var status = t.revokedAt != nil ? "revoked" : (t.isDead(now: now) ? "expired" : (t.disabledAt != nil ? "disabled" : "active"))
            if t.canary { status += " (canary)" }
            let restrictions = t.restrictions
            var origins = restrictions.allowedOrigins.isEmpty ? "any" : restrictions.allowedOrigins.map(\.description).joined(separator: ",")
            if restrictions.requireOrigin { origins += " (required)" }
            return [
                t.id.uuidString.lowercased(), t.kind.rawValue, status, t.description.isEmpty ? "-" : t.description,
                t.scopes.map(\.description).joined(separator: " "), "…" + t.hint, day(t.createdAt), t.expiresAt.map(day) ?? "never",
                t.lastUsedAt.map(day) ?? "never", t.rateLimit.map(limit) ?? "-",
                restrictions.allowedIPs.isEmpty ? "any" : restrictions.allowedIPs.map(\.description).joined(separator: ","), origins,
            ]
        }
        let widths = header.indices.map { i in ([header] + rows).map { $0[i].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }

    /// `100/s burst 200`, with `, 5000 events/s` when events are limited.
    static func limit(_ limit: RateLimit) -> String {
        "\(limit.requestsPerSecond)/s burst \(limit.burst)" + (limit.eventsPerSecond.map { ", \($0) events/s" } ?? "")
    }

    private static func day(_ date: Date) -> String {
        String(RFC3339.format(date).prefix(16)).replacingOccurrences(of: "T", with: " ")
    }
}
