import Foundation

// Build-time tool of the EmbedMigrations and EmbedOpenAPI plugins. Each mode writes one Swift file:
//   ResourceEmbedder migrations OUTPUT FOLDER  -> `Migration.embedded`, from FOLDER's NNNN_name.sql
//   ResourceEmbedder openapi OUTPUT FILE        -> `OpenAPIDocument.json`, FILE (YAML) as JSON text
// Every text becomes a string literal escaped by Unicode scalar, so nothing in it (quotes,
// backslashes, `"""`, carriage returns) can end the literal or change a byte.

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("ResourceEmbedder: \(message)\n".utf8))
    exit(1)
}

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

func readUTF8(_ path: String) -> String {
    guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
        fail("cannot read \(path) as UTF-8")
    }
    return text
}

func write(_ source: String, to output: String) {
    do {
        try Data(source.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
    } catch {
        fail("cannot write \(output): \(error)")
    }
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count == 3, ["migrations", "openapi"].contains(arguments[0]) else {
    FileHandle.standardError.write(Data("usage: ResourceEmbedder migrations|openapi OUTPUT INPUT\n".utf8))
    exit(2)
}
let (mode, output, input) = (arguments[0], arguments[1], arguments[2])
switch mode {
case "migrations": write(embedMigrations(folder: input), to: output)
default: write(embedOpenAPI(file: input), to: output)
}
