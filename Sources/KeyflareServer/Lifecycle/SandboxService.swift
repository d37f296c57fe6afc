import KeyflareStore
import ServiceLifecycle

/// Closes the endpoint sandbox's connections on graceful shutdown, after the HTTP server has stopped.
struct SandboxService: Service {
    let sandbox: QuerySandbox

    func run() async throws {
        try? await gracefulShutdown()
        await sandbox.close()
    }
}
