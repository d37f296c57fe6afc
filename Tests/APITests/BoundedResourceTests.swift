import CompressNIO
import Foundation
import Glibc
import HTTPTypes
import HummingbirdTesting
import KeyflareCore
import KeyflareHTTP
import KeyflareStore
import NIOCore
import PQ
import PQServices
import Testing

@testable import KeyflareTestSupport

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// What one hostile request may cost a shared instance: memory, connections, time.
@Suite struct BoundedResourceTests {
    /// Peak and current resident memory of a process, in bytes, from /proc.
    static func memory(of pid: Int32) throws -> (peak: Int, now: Int) {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        func kilobytes(_ field: String) -> Int {
            let line = status.split(separator: "\n").first { $0.hasPrefix(field + ":") } ?? ""
            return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
        }
        return (kilobytes("VmHWM"), kilobytes("VmRSS"))
    }

    struct Answer {
        let status: Int
        let headers: [String: String]
        let body: String
    }

    static func send(
        _ port: Int, _ path: String, method: String = "GET", headers: [String: String] = [:], body: Data? = nil
    ) async throws -> Answer {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        request.httpBody = body
        request.timeoutInterval = 60
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (name, value) in http.allHeaderFields { fields[String(describing: name).lowercased()] = String(describing: value) }
        return Answer(status: http.statusCode, headers: fields, body: String(decoding: data, as: UTF8.self))
    }

    /// A real `keyflare serve` on a migrated database, with an account, a source and its tokens.
    struct Instance {
        let db: TestDatabase
        let server: ServerProcess
        let management: String
        let ingest: String
        let account: UUID
        let source: UUID

        static func start(_ env: [String: String] = [:]) async throws -> Instance {
            let db = try await TestDatabase.migrated()
            let pool = db.pool()
            defer { Task { await pool.close() } }
            let created = try await AccountStore(pool: pool).create(name: "Acme", email: "\(UUID())@example.test", passwordHash: nil)
            let source = try await SourceStore(pool: pool).create(name: "web", accountID: created.account.id, actor: .operator).id
            let (_, ingest) = try await AccessTokenStore(pool: pool).create(
                accountID: created.account.id, description: "ingest", scopes: [.ingest], expiresAt: nil, actor: .operator)
            var environment = env
            environment["KEYFLARE_DATABASE_URL"] = db.url
            let server = try ServerProcess(env: environment)
            try await server.waitUntilListening()
            #expect(try await server.waitFor("/readyz", status: 200))
            return Instance(
                db: db, server: server, management: created.managementToken, ingest: ingest, account: created.account.id,
                source: source)
        }

        var pid: Int32 { server.process.processIdentifier }
        var port: Int { server.port }
    }

    @Test func aGzipBombOfTinyObjectsIsRefusedFastAndRSSBarelyMoves() async throws {
        let instance = try await Instance.start()
        defer { Task { _ = try? await instance.server.terminate() } }
        // 10 MiB (decompressed) of {} — the body that cost 3.8 GB with JSONSerialization.
        var plain = ByteBuffer(string: "[" + String(repeating: "{},", count: (IngestBatch.maxBodyBytes - 8) / 3) + "{}]")
        let gzipped = try plain.compress(with: .gzip())
        #expect(gzipped.readableBytes < 64 * 1024)
        let before = try Self.memory(of: instance.pid)
        let started = ContinuousClock.now
        let answer = try await Self.send(
            instance.port, "/api/logs?source=\(instance.source.uuidString.lowercased())", method: "POST",
            headers: ["X-API-KEY": instance.ingest, "Content-Type": "application/json", "Content-Encoding": "gzip"],
            body: Data(buffer: gzipped))
        let elapsed = ContinuousClock.now - started
        #expect(answer.status == 413)
        #expect(answer.body.contains("10000 events"))
        #expect(elapsed < .seconds(5), "refused in \(elapsed)")
        let after = try Self.memory(of: instance.pid)
        #expect(after.peak - before.peak < 64 * 1024 * 1024, "peak RSS grew by \((after.peak - before.peak) / 1_048_576) MB")
        // Eight at once stay under 256 MB together.
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try await Self.send(
                        instance.port, "/api/logs?source=\(instance.source.uuidString.lowercased())", method: "POST",
                        headers: ["X-API-KEY": instance.ingest, "Content-Encoding": "gzip"], body: Data(buffer: gzipped)
                    ).status
                }
            }
            for try await status in group { #expect(status == 413) }
        }
        let parallel = try Self.memory(of: instance.pid)
        #expect(parallel.peak - before.peak < 256 * 1024 * 1024, "8 at once grew peak RSS by \((parallel.peak - before.peak) / 1_048_576) MB")
        let pool = instance.db.pool()
        defer { Task { await pool.close() } }
        #expect(try await pool.query("SELECT count(*) AS n FROM events").first!.decode("n", as: Int.self) == 0)
    }

    @Test func anEndpointResultOverTheByteCapIsA413AndRSSStaysBounded() async throws {
        let instance = try await Instance.start(["KEYFLARE_QUERY_MAX_BYTES": "1048576"])
        defer { Task { _ = try? await instance.server.terminate() } }
        let auth = ["Authorization": "Bearer \(instance.management)", "Content-Type": "application/json"]
        func endpoint(_ name: String, _ sql: String) async throws -> String {
            let body = try JSONSerialization.data(withJSONObject: ["name": name, "sql": sql, "max_limit": 10_000])
            let created = try await Self.send(instance.port, "/api/endpoints", method: "POST", headers: auth, body: body)
            #expect(created.status == 201, "\(created.body)")
            return try #require(try json(created.body)["id"] as? String)
        }
        let oneHugeRow = try await endpoint("huge-row", "select repeat('x', 50000000) as big")
        let manyRows = try await endpoint("many-rows", "select repeat('y', 1000) as r from generate_series(1, 10000)")
        let fits = try await endpoint("fits", "select repeat('z', 1000) as r from generate_series(1, 100)")
        let before = try Self.memory(of: instance.pid)
        for id in [oneHugeRow, manyRows] {
            let answer = try await Self.send(instance.port, "/api/endpoints/query/\(id)", headers: auth)
            #expect(answer.status == 413, "\(answer.body.prefix(200))")
            #expect(answer.body.contains("1 MiB limit (KEYFLARE_QUERY_MAX_BYTES)"))
        }
        let after = try Self.memory(of: instance.pid)
        #expect(after.peak - before.peak < 64 * 1024 * 1024, "peak RSS grew by \((after.peak - before.peak) / 1_048_576) MB")
        let small = try await Self.send(instance.port, "/api/endpoints/query/\(fits)", headers: auth)
        #expect(small.status == 200)
        let rows = try #require(try json(small.body)["result"] as? [[String: Any]])
        #expect(rows.count == 100)
        #expect((rows.first?["r"] as? String)?.count == 1000)
    }

    /// 1,000 connections that each send one byte of a request head a second (every byte would reset
    /// a plain idle timer), held by a child process: with over a thousand descriptors open, Swift
    /// Foundation's Process.run() in this test process can crash (an over-read in
    /// findMaximumOpenFromProcSelfFD, swift-corelibs-foundation PR 5472), and other suites spawn
    /// processes concurrently.
    static let trickler = """
        import socket, sys, time
        port, count = int(sys.argv[1]), int(sys.argv[2])
        head = b"GET /healthz HTTP/1.1\\r\\n"
        socks = []
        for _ in range(count):
            s = socket.create_connection(("127.0.0.1", port))
            socks.append(s)
        print("open", flush=True)
        start = time.monotonic()
        for i in range(4):
            for s in socks:
                try:
                    s.send(head[i:i + 1])
                except OSError:
                    pass
            time.sleep(max(0, start + i + 1 - time.monotonic()))
        closed = 0
        for s in socks:
            s.settimeout(0.02)
            try:
                if s.recv(1) == b"":
                    closed += 1
            except ConnectionResetError:
                closed += 1
            except OSError:
                pass
        print("closed", closed, flush=True)
        """

    @Test func aSlowHeadIsClosedAfterTheTimeoutWhileOthersAreServed() async throws {
        let instance = try await Instance.start(["KEYFLARE_HTTP_HEADER_TIMEOUT": "1", "KEYFLARE_HTTP_IDLE_TIMEOUT": "2"])
        defer { Task { _ = try? await instance.server.terminate() } }
        async let trickled = KeyflareProcess.run(
            ["-c", Self.trickler, String(instance.port), "1000"], timeout: 60,
            executable: URL(fileURLWithPath: "/usr/bin/python3"))
        // Others are served while the slow connections are open.
        try await Task.sleep(for: .milliseconds(1_500))
        #expect(try await Self.send(instance.port, "/healthz").status == 200)
        let output = try await trickled
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdout.contains("closed 1000"), "every slow connection is closed by the server: \(output.stdout)")
        #expect(try await Self.send(instance.port, "/healthz").status == 200)
    }

    @Test func unknownFieldsAndNULAreRefusedNamingTheFieldAndNothingChanges() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (account, management) = try await t.account()
        let source = try await t.source("web", account: account)
        try await t.application().test(.router) { client throws in
            var headers = HTTPFields.bearer(management)
            headers[.contentType] = "application/json"
            let before = try await t.count("SELECT count(*) AS n FROM access_tokens")
            let unknown = try await client.send(
                "/api/access-tokens", method: .post, headers: headers,
                body: #"{"scopes": ["ingest"], "rate_limit_per_day": {"requests": 1}}"#)
            #expect(unknown.status == .unprocessableContent)
            #expect(unknown.body.contains(#"unknown field \"rate_limit_per_day\""#))
            let nul = try await client.send(
                "/api/access-tokens", method: .post, headers: headers, body: #"{"description": "desc\u0000tail"}"#)
            #expect(nul.status == .unprocessableContent)
            #expect(nul.body.contains(#"\"description\" contains a NUL character"#))
            #expect(try await t.count("SELECT count(*) AS n FROM access_tokens") == before)
            let rename = try await client.send(
                "/api/sources/\(source.uuidString.lowercased())", method: .patch, headers: headers, body: #"{"name": "a\u0000b"}"#)
            #expect(rename.status == .unprocessableContent)
            #expect(try await SourceStore(pool: t.pool).find(id: source, accountID: account)?.name == "web")
            let query = try await client.send("/api/access-tokens?include_revoked=true&colour=blue", headers: headers)
            #expect(query.status == .unprocessableContent)
            #expect(query.body.contains(#"unknown query parameter \"colour\""#))
            #expect(try await client.send("/api/access-tokens?include_revoked=true&api_key=\(management)", headers: headers).status == .ok)
            let deep = try await client.send(
                "/api/sources", method: .post, headers: headers,
                body: #"{"name": "x", "extra": "# + String(repeating: "[", count: 2_000) + String(repeating: "]", count: 2_000) + "}")
            #expect(deep.status == .contentTooLarge)
        }
    }

    @Test func endpointParametersDecodePlusAndRefuseNUL() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (account, management) = try await t.account()
        let endpoint = try await EndpointStore(pool: t.pool).create(
            EndpointDraft(name: "echo", description: "", sql: "select @level as level", enableAuth: true, maxLimit: 10),
            accountID: account, actor: .operator)
        try await t.application().test(.router) { client throws in
            let path = "/api/endpoints/query/\(endpoint.id.uuidString.lowercased())"
            let plus = try await client.send("\(path)?level=a+b%2Bc", headers: .bearer(management))
            #expect(plus.status == .ok)
            #expect(plus.body.contains(#""level":"a b+c""#), "\(plus.body)")
            let nul = try await client.send("\(path)?level=info%00", headers: .bearer(management))
            #expect(nul.status == .badRequest)
            #expect(nul.body.contains(#"\"level\" contains a NUL character"#))
            var json = HTTPFields.bearer(management)
            json[.contentType] = "application/json"
            let body = try await client.send(path, method: .post, headers: json, body: #"{"level": "info\u0000"}"#)
            #expect(body.status == .unprocessableContent)
            #expect(body.body.contains(#"\"level\" contains a NUL character"#))
        }
    }

    @Test func rollingKeepsTheLifetimeOrTakesANewOne() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (account, management) = try await t.account()
        let day = Date().addingTimeInterval(86_400)
        let token = try await t.token([.ingest], account: account, expiresAt: day)
        try await t.application().test(.router) { client throws in
            var headers = HTTPFields.bearer(management)
            headers[.contentType] = "application/json"
            let rolled = try await client.send(
                "/api/access-tokens/\(token.id.uuidString.lowercased())/roll", method: .post, headers: headers, body: "{}")
            #expect(rolled.status == .created, "\(rolled.body)")
            // The new token's fields are at the top level, as a create answers.
            let new = try json(rolled.body)
            let expires = try #require((new["expires_at"] as? String).flatMap(RFC3339.parse))
            #expect(abs(expires.timeIntervalSinceNow - 86_400) < 120, "a one-day token rolls into a one-day token")
            let newID = try #require(new["id"] as? String)
            let explicit = try await client.send(
                "/api/access-tokens/\(newID)/roll", method: .post, headers: headers, body: #"{"expires_in": 3600}"#)
            let third = try json(explicit.body)
            let thirdExpiry = try #require((third["expires_at"] as? String).flatMap(RFC3339.parse))
            #expect(abs(thirdExpiry.timeIntervalSinceNow - 3600) < 120)
        }
    }

    @Test func unknownTokensFromOneAddressAreLimitedWhileACachedTokenKeepsWorking() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (account, _) = try await t.account()
        let source = try await t.source("web", account: account)
        let valid = try await t.token([.ingest], account: account)
        let app = try t.instance(configure: { $0.authFailuresPerMinute = 20 })
        try await app.application.test(.live) { client throws in
            // The cache is trusted once the listener is up (a loaded machine takes more than a
            // moment); warm it with the valid token.
            #expect(await eventually(timeout: .seconds(30)) { app.readiness.isListenerUp } != nil)
            let path = "/api/logs?source=\(source.uuidString.lowercased())"
            #expect(try await client.send(path, method: .post, headers: .apiKey(valid.secret), body: "{}").status == .ok)
            // 1,000 distinct well-formed unknown tokens (the issue's 50,000 run in `make bench
            // SUITE=abuse` and, against the cache alone, in TokenCacheTests).
            var statuses: [HTTPResponse.Status] = []
            for _ in 0..<1_000 {
                let unknown = TokenFormat.generate(kind: .public)
                statuses.append(try await client.send(path, method: .post, headers: .apiKey(unknown), body: "{}").status)
            }
            #expect(statuses.prefix(20).allSatisfy { $0 == .unauthorized })
            #expect(statuses.dropFirst(20).allSatisfy { $0 == .tooManyRequests })
            let limited = try await client.send(path, method: .post, headers: .apiKey(TokenFormat.generate(kind: .public)), body: "{}")
            #expect(limited.headers[.retryAfter] == "60")
            #expect(try await client.send(path, method: .post, headers: .apiKey(valid.secret), body: "{}").status == .ok)
            #expect(app.tokenCache.verifiedCount >= 1, "the flood evicted no verified token")
        }
    }

    /// Revoked tokens are real tokens: polling ones a client just lost, more of them than the limit,
    /// never costs it the limit its other tokens need (only unknown tokens count).
    @Test func revokedTokensDoNotUseUpTheFailureLimit() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (account, _) = try await t.account()
        var revoked: [String] = []
        for _ in 0..<8 {
            let token = try await t.token([.ingest], account: account)
            try await t.pool.query("UPDATE access_tokens SET revoked_at = now() WHERE id = \(token.id)")
            revoked.append(token.secret)
        }
        let valid = try await t.token([.ingest], account: account)
        let app = try t.instance(configure: { $0.authFailuresPerMinute = 3 })
        let lost = revoked
        try await app.application.test(.live) { client throws in
            for secret in lost {
                for _ in 0..<3 {
                    let refused = try await client.send("/api/auth/check", headers: .apiKey(secret))
                    #expect(refused.status == .unauthorized, "\(refused.status.code) \(refused.body)")
                    #expect(refused.body.contains("revoked"))
                }
            }
            #expect(try await client.send("/api/auth/check", headers: .apiKey(valid.secret)).status == .ok)
            // Unknown tokens still count.
            var statuses: [HTTPResponse.Status] = []
            for _ in 0..<5 {
                statuses.append(try await client.send("/api/auth/check", headers: .apiKey(TokenFormat.generate(kind: .public))).status)
            }
            #expect(statuses.prefix(3).allSatisfy { $0 == .unauthorized })
            #expect(statuses.suffix(2).allSatisfy { $0 == .tooManyRequests })
        }
    }

    @Test func aFullIngestQueueAnswers503AndStoresNothing() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (account, _) = try await t.account()
        let source = try await t.source("web", account: account)
        // No writers run, so the first batch stays in flight and fills the 1 KiB budget.
        let committer = GroupCommitter(pool: t.pool, writers: 1, maxBytesInFlight: 1024, logger: TestDatabase.quietLogger)
        let big = try IngestBatch.parse(Data(#"{"m":"\#(String(repeating: "x", count: 900))"}"#.utf8), receivedAt: Date())
        let first = Task { try await committer.insert(big, sourceID: source, accountID: account) }
        try await Task.sleep(for: .milliseconds(100))
        await #expect(throws: KeyflareError.unavailable("the ingest queue is full; retry in a moment (nothing was stored)")) {
            try await committer.insert(big, sourceID: source, accountID: account)
        }
        first.cancel()
        // Runs the writers until cancelled: the queued batch is committed, the refused one never was.
        let run = Task { try await committer.run() }
        _ = try? await first.value
        run.cancel()
        #expect(try await t.eventCount(source: source) == 1)
    }
}
