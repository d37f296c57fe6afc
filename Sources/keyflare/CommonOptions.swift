import ArgumentParser
import Foundation
import KeyflareCore
import KeyflareHTTP
import Logging

/// Options every command that talks to the database accepts.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: "libpq URI or conninfo (default: $KEYFLARE_DATABASE_URL).")
    var databaseURL: String?

    @Option(name: .customLong("migrations-dir"), help: "Folder of NNNN_name.sql files to apply instead of the ones built into the binary (default: $KEYFLARE_MIGRATIONS_DIR).")
    var migrationsDirectory: String?

    /// The environment's configuration with these flags applied, and logging bootstrapped.
    func configuration() throws -> KeyflareConfiguration {
        var configuration = try KeyflareConfiguration(environment: ProcessInfo.processInfo.environment)
        if let databaseURL { configuration.databaseURL = databaseURL }
        if let migrationsDirectory { configuration.migrationsDirectory = migrationsDirectory }
        return configuration
    }
}

/// Prints one line to standard error and exits non-zero: the way every command reports a failure a
/// person can fix, without a stack trace.
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("keyflare: \(message)\n".utf8))
    exit(1)
}

/// Runs a command body, turning known failures into one-line messages.
func reportingFailures(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ConfigurationError {
        fail(error.message)
    } catch let error as KeyflareError {
        fail(error.message)
    } catch let error as CleanExit {
        throw error
    } catch let error as ExitCode {
        throw error
    } catch {
        fail(oneLine(error))
    }
}

/// A one-line description of an error that never includes bound values (see PQError.description).
func oneLine(_ error: any Error) -> String {
    "\(error)".split(separator: "\n").first.map(String.init) ?? "unknown error"
}
