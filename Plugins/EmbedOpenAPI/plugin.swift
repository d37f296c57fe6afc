import Foundation
import PackagePlugin

/// Compiles the repository's `openapi.yaml` into the target as JSON text (`OpenAPIDocument.json`),
/// so `GET /api/openapi.json` serves the document from the binary, from any working directory.
/// `openapi.yaml` stays the source of truth; the generated file exists only inside `.build/`.
@main
struct EmbedOpenAPI: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        let document = context.package.directoryURL.appending(path: "openapi.yaml")
        let output = context.pluginWorkDirectoryURL.appending(path: "OpenAPIDocument.swift")
        return [
            .buildCommand(
                displayName: "Embedding openapi.yaml",
                executable: try context.tool(named: "ResourceEmbedder").url,
                arguments: ["openapi", output.path, document.path],
                inputFiles: [document],
                outputFiles: [output]
            )
        ]
    }
}
