import Foundation
import PackagePlugin

/// Compiles the repository's `migrations/NNNN_name.sql` files into the target as Swift source, so
/// the `keyflare` binary carries its migrations and runs from any working directory.
/// `migrations/` stays the source of truth; the generated file exists only inside `.build/`.
@main
struct EmbedMigrations: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        let folder = context.package.directoryURL.appending(path: "migrations")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { $0.hasSuffix(".sql") }
            .sorted()
            .map { folder.appending(path: $0) }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedMigrations.swift")
        return [
            .buildCommand(
                displayName: "Embedding migrations/",
                executable: try context.tool(named: "ResourceEmbedder").url,
                arguments: ["migrations", output.path, folder.path],
                // The files, so an edit rebuilds; the folder, so an added file does. A file removed or
                // renamed fails the next build as a "missing input" until SwiftPM plans again
                // (`touch Package.swift`); migrations are forward-only, so that is rare.
                inputFiles: files + [folder],
                outputFiles: [output]
            )
        ]
    }
}
