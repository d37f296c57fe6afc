import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Runs the real `keyflare` executable that `swift test` built next to the test bundle.
struct KeyflareProcess {
    struct Output {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static var executable: URL {
        get throws {
            let candidates = [
                Bundle.main.bundleURL.appendingPathComponent("keyflare"),
                Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("keyflare"),
                TestDatabase.repositoryRoot.appendingPathComponent(".build/debug/keyflare"),
            ]
            guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
                throw CLIError("the keyflare executable was not built; run `swift build` first")
            }
            return found
        }
    }

    struct CLIError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// An environment with no KEYFLARE_* settings of the caller's, plus `extra`. No
    /// KEYFLARE_MIGRATIONS_DIR: the binary applies the migrations built into it.
    static func environment(_ extra: [String: String]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("KEYFLARE_") }
        env["KEYFLARE_LOG_LEVEL"] = "info"
        env["KEYFLARE_DRAIN_SECONDS"] = "0"
        for (k, v) in extra { env[k] = v }
        return env
    }

    /// Runs a command to completion (killing it after `timeout` seconds).
    static func run(
        _ arguments: [String], env: [String: String] = [:], stdin: String? = nil, timeout: Double = 60,
        in directory: URL? = nil, executable: URL? = nil
    ) async throws -> Output {
        let process = Process()
        process.executableURL = try executable ?? Self.executable
        process.arguments = arguments
        process.environment = environment(env)
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe()
        let err = Pipe()
        let input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        // Read both pipes on threads of their own: these reads block, and on the cooperative pool
        // they could starve the very tasks that enforce the timeout below.
        let stdoutText = LockedText()
        let stderrText = LockedText()
        let readers = DispatchGroup()
        for (pipe, text) in [(out, stdoutText), (err, stderrText)] {
            readers.enter()
            Thread {
                let data = (try? pipe.fileHandleForReading.readToEnd()) ?? nil
                text.append(String(decoding: data ?? Data(), as: UTF8.self))
                readers.leave()
            }.start()
        }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline {
                process.terminate()
                try await Task.sleep(for: .seconds(2))
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        // Both pipes reach end-of-file once the process (and anything it spawned) is gone.
        await withCheckedContinuation { continuation in
            readers.notify(queue: .global()) { continuation.resume() }
        }
        let stdout = Data(stdoutText.value.utf8)
        let stderr = Data(stderrText.value.utf8)
        return Output(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self)
        )
    }
}

/// A `keyflare serve` process on a port of its choosing, stopped with SIGTERM.
final class ServerProcess: @unchecked Sendable {
    let process = Process()
    private let stderrText = LockedText()
    private(set) var port = 0

    init(arguments: [String] = [], env: [String: String], in directory: URL? = nil, executable: URL? = nil) throws {
        process.executableURL = try executable ?? KeyflareProcess.executable
        process.arguments = ["serve", "--port", "0"] + arguments
        process.environment = KeyflareProcess.environment(env)
        if let directory { process.currentDirectoryURL = directory }
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        err.fileHandleForReading.readabilityHandler = { [stderrText] handle in
            let chunk = String(decoding: handle.availableData, as: UTF8.self)
            stderrText.append(chunk)
        }
        try process.run()
    }

    /// Everything the server has written to its log so far.
    var log: String { stderrText.value }

    /// Waits for "listening on 127.0.0.1:PORT" in the log.
    func waitUntilListening(timeout: Double = 30) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let range = log.range(of: #"listening on 127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                port = Int(log[range].split(separator: ":").last!)!
                return
            }
            if !process.isRunning { throw KeyflareProcess.CLIError("server exited: \(log)") }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw KeyflareProcess.CLIError("server did not start: \(log)")
    }

    /// GETs a path and returns the status and body.
    func get(_ path: String) async throws -> (Int, String) {
        let url = URL(string: "http://127.0.0.1:\(port)\(path)")!
        let (data, response) = try await URLSession.shared.data(from: url)
        return ((response as! HTTPURLResponse).statusCode, String(decoding: data, as: UTF8.self))
    }

    /// Polls a path until it answers `status`, or the timeout passes.
    func waitFor(_ path: String, status: Int, timeout: Double = 30) async throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let (code, _) = try? await get(path), code == status { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    /// Sends SIGTERM and waits for the exit status.
    func terminate(timeout: Double = 20) async throws -> Int32 {
        process.terminate()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        return process.terminationStatus
    }
}

/// Text appended from one thread and read from another.
final class LockedText: @unchecked Sendable {
    private let lock = NSLock()
    private var text = ""

    func append(_ chunk: String) { lock.withLock { text += chunk } }
    var value: String { lock.withLock { text } }
}
