import Foundation

/// `Migration.embedded` from a folder's `NNNN_name.sql` files, byte for byte, in version order.
func embedMigrations(folder: String) -> String {
    guard let files = try? FileManager.default.contentsOfDirectory(atPath: folder) else { fail("cannot read \(folder)") }
    var entries: [String] = []
    for file in files.sorted() {
        let stem = String(file.dropLast(4))
        guard file.hasSuffix(".sql"), let underscore = stem.firstIndex(of: "_"),
            let version = Int(stem[..<underscore]), stem[..<underscore].allSatisfy(\.isNumber)
        else { continue }
        let sql = readUTF8((folder as NSString).appendingPathComponent(file))
        let name = String(stem[stem.index(after: underscore)...])
        entries.append("        Migration(version: \(version), name: \(literal(name)), sql: \(literal(sql))),")
    }
    return """
        // Generated at build time by the EmbedMigrations plugin from migrations/*.sql. Do not edit.

        extension Migration {
            /// The migrations compiled into this binary, in version order.
            public static let embedded: [Migration] = [
        \(entries.joined(separator: "\n"))
            ]
        }

        """
}
