import ArgumentParser

/// The `keyflare` command: serve the API, migrate the schema, manage accounts.
@main
struct Keyflare: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keyflare",
        abstract: "Keyflare: multi-tenant log ingestion and query, authorized by scoped access tokens.",
        discussion: """
            Configuration comes from the environment (KEYFLARE_DATABASE_URL, KEYFLARE_HOST, KEYFLARE_PORT,
            KEYFLARE_LOG_LEVEL, KEYFLARE_LOG_FORMAT, KEYFLARE_DB_POOL_SIZE, KEYFLARE_MIGRATIONS_DIR);
            flags override it.
            """,
        subcommands: [Serve.self, Migrate.self, AccountCommand.self, TokenCommand.self, WebhookCommand.self]
    )
}
