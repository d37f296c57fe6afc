import Crypto
import Foundation

/// One forward-only schema change: `migrations/NNNN_name.sql`.
public struct Migration: Sendable, Equatable {
    /// The number from the file name; migrations apply in this order.
    public let version: Int
    /// The rest of the file name, without `.sql`.
    public let name: String
    /// The SQL script; it may hold several statements.
    public let sql: String

    /// - Parameters:
    ///   - version: the order number.
    ///   - name: a short name.
    ///   - sql: the script.
    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// The file name without `.sql`, as in `0001_accounts`.
    public var identifier: String { String(format: "%04d_%@", version, name) }

    /// SHA-256 of the script, hex; stored when applied, so an edited file can be noticed.
    public var checksum: String {
        SHA256.hash(data: Data(sql.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Reads every `NNNN_name.sql` in a folder, sorted by version. Other files are ignored; two files
    /// with the same version are an error.
    /// - Parameters:
    ///   - directory: the folder path.
    public static func load(from directory: String) throws -> [Migration] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw MigrationError("cannot read the migrations folder \(directory)")
        }
        var migrations: [Migration] = []
        for file in names where file.hasSuffix(".sql") {
            let stem = file.dropLast(4)
            guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]),
                stem[..<underscore].allSatisfy(\.isNumber)
            else { continue }
            let path = (directory as NSString).appendingPathComponent(file)
            guard let sql = FileManager.default.contents(atPath: path).flatMap({ String(data: $0, encoding: .utf8) })
            else { throw MigrationError("cannot read \(path) as UTF-8") }
            migrations.append(Migration(version: version, name: String(stem[stem.index(after: underscore)...]), sql: sql))
        }
        return try ordered(migrations)
    }

    /// The migrations to apply: those in `configured` when an operator names a folder (flag or
    /// `KEYFLARE_MIGRATIONS_DIR`), else the ones compiled into the binary from the repository's
    /// `migrations/`, so the binary needs no files beside it and no particular working directory.
    /// - Parameters:
    ///   - configured: an explicit folder, or nil for the embedded set.
    public static func resolve(configured: String?) throws -> [Migration] {
        if let configured { return try load(from: configured) }
        return try ordered(embedded)
    }

    /// Sorted by version; two migrations with the same version are an error.
    private static func ordered(_ migrations: [Migration]) throws -> [Migration] {
        let sorted = migrations.sorted { $0.version < $1.version }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.version == b.version {
            throw MigrationError("two migrations share version \(a.version): \(a.name) and \(b.name)")
        }
        return sorted
    }
}

/// A migration could not be read or applied; the message is one line, for a person.
public struct MigrationError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public let message: String

    /// - Parameters:
    ///   - message: one line.
    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
