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
        migrations.sort { $0.version < $1.version }
        for (a, b) in zip(migrations, migrations.dropFirst()) where a.version == b.version {
            throw MigrationError("two migrations share version \(a.version): \(a.name) and \(b.name)")
        }
        return migrations
    }

    /// Finds the migrations folder: the given one, else `./migrations`, else one next to the
    /// executable or any of its parent folders (so `.build/debug/keyflare` finds the repository's).
    /// - Parameters:
    ///   - configured: an explicit folder (flag or `KEYFLARE_MIGRATIONS_DIR`).
    public static func locateDirectory(configured: String?) throws -> String {
        if let configured { return configured }
        var candidates = [FileManager.default.currentDirectoryPath + "/migrations"]
        var folder = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath()
            .deletingLastPathComponent()
        for _ in 0..<6 {
            candidates.append(folder.appendingPathComponent("migrations").path)
            folder = folder.deletingLastPathComponent()
        }
        var isDirectory: ObjCBool = false
        for candidate in candidates
        where FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory) && isDirectory.boolValue {
            return candidate
        }
        throw MigrationError("no migrations folder found; set KEYFLARE_MIGRATIONS_DIR")
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
