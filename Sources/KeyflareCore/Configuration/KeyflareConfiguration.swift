/// Runtime settings, read from the environment; command-line flags override them.
public struct KeyflareConfiguration: Sendable, Equatable {
    /// How log lines are written.
    public enum LogFormat: String, Sendable {
        /// Human-readable lines.
        case text
        /// One JSON object per line.
        case json
    }

    /// libpq URI or conninfo string; nil means "not configured".
    public var databaseURL: String?
    /// Overrides `databaseURL` for the LISTEN connection (LISTEN does not work through a
    /// transaction-pooling PgBouncer).
    public var listenDatabaseURL: String?
    /// Address to listen on.
    public var host: String
    /// Port to listen on.
    public var port: Int
    /// Minimum log level (`trace` ... `critical`).
    public var logLevel: String
    /// Log line format.
    public var logFormat: LogFormat
    /// Upper bound of pooled database connections.
    public var poolSize: Int
    /// Folder holding the `NNNN_name.sql` migrations; nil means "find it".
    public var migrationsDirectory: String?

    /// Settings with every default.
    public init() {
        databaseURL = nil
        listenDatabaseURL = nil
        host = "127.0.0.1"
        port = 4000
        logLevel = "info"
        logFormat = .text
        poolSize = 10
        migrationsDirectory = nil
    }

    /// Reads `KEYFLARE_*` variables.
    /// - Parameters:
    ///   - environment: the process environment, or a dictionary in tests.
    public init(environment: [String: String]) throws {
        self.init()
        func value(_ key: String) -> String? {
            guard let v = environment[key], !v.isEmpty else { return nil }
            return v
        }
        databaseURL = value("KEYFLARE_DATABASE_URL")
        listenDatabaseURL = value("KEYFLARE_LISTEN_DATABASE_URL")
        if let host = value("KEYFLARE_HOST") { self.host = host }
        if let port = value("KEYFLARE_PORT") { self.port = try Self.parsePort(port, name: "KEYFLARE_PORT") }
        if let level = value("KEYFLARE_LOG_LEVEL") {
            guard Self.logLevels.contains(level.lowercased()) else {
                throw ConfigurationError("KEYFLARE_LOG_LEVEL must be one of \(Self.logLevels.joined(separator: ", "))")
            }
            logLevel = level.lowercased()
        }
        if let format = value("KEYFLARE_LOG_FORMAT") {
            guard let parsed = LogFormat(rawValue: format.lowercased()) else {
                throw ConfigurationError("KEYFLARE_LOG_FORMAT must be text or json")
            }
            logFormat = parsed
        }
        if let size = value("KEYFLARE_DB_POOL_SIZE") {
            guard let n = Int(size), (1...500).contains(n) else {
                throw ConfigurationError("KEYFLARE_DB_POOL_SIZE must be a number from 1 to 500")
            }
            poolSize = n
        }
        migrationsDirectory = value("KEYFLARE_MIGRATIONS_DIR")
    }

    /// The accepted log level names.
    public static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// Parses a TCP port number.
    /// - Parameters:
    ///   - text: the value.
    ///   - name: the setting's name, for the message.
    public static func parsePort(_ text: String, name: String) throws -> Int {
        guard let port = Int(text), (0...65535).contains(port) else {
            throw ConfigurationError("\(name) must be a port number from 0 to 65535")
        }
        return port
    }
}

/// A setting that cannot be used; the message is one line, for a person.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public let message: String

    /// - Parameters:
    ///   - message: one line saying what is wrong.
    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
