import Foundation

// Build-time tool of the EmbedMigrations plugin: `MigrationEmbedder OUTPUT FOLDER` writes a Swift
// file that defines `Migration.embedded` from the folder's `NNNN_name.sql` files, byte for byte.
// Each script becomes a string literal escaped by Unicode scalar, so nothing in a script (quotes,
// backslashes, `"""`, carriage returns) can end the literal or change a byte of the SQL.

func literal(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\\": out += "\\\\"
        case "\"": out += "\\\""
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case " "..."~": out.unicodeScalars.append(scalar)
        default: out += "\\u{\(String(scalar.value, radix: 16))}"
        }
    }
    return out + "\""
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count == 2 else {
    FileHandle.standardError.write(Data("usage: MigrationEmbedder OUTPUT FOLDER\n".utf8))
    exit(2)
}
let (output, folder) = (arguments[0], arguments[1])
guard let files = try? FileManager.default.contentsOfDirectory(atPath: folder) else {
    FileHandle.standardError.write(Data("MigrationEmbedder: cannot read \(folder)\n".utf8))
    exit(1)
}
var entries: [String] = []
for file in files.sorted() {
    let path = (folder as NSString).appendingPathComponent(file)
    let stem = String(file.dropLast(4))
    guard file.hasSuffix(".sql"), let underscore = stem.firstIndex(of: "_"),
        let version = Int(stem[..<underscore]), stem[..<underscore].allSatisfy(\.isNumber)
    else { continue }
    guard let data = FileManager.default.contents(atPath: path), let sql = String(data: data, encoding: .utf8) else {
        FileHandle.standardError.write(Data("MigrationEmbedder: cannot read \(path) as UTF-8\n".utf8))
        exit(1)
    }
    let name = String(stem[stem.index(after: underscore)...])
    entries.append("        Migration(version: \(version), name: \(literal(name)), sql: \(literal(sql))),")
}
let source = """
    // Generated at build time by the EmbedMigrations plugin from migrations/*.sql. Do not edit.

    extension Migration {
        /// The migrations compiled into this binary, in version order.
        public static let embedded: [Migration] = [
    \(entries.joined(separator: "\n"))
        ]
    }

    """
do {
    try Data(source.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
} catch {
    FileHandle.standardError.write(Data("MigrationEmbedder: cannot write \(output): \(error)\n".utf8))
    exit(1)
}
