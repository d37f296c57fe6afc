import Foundation
import PQ
import PQServices
import Testing

@testable import KeyflareTestSupport

@Suite struct PoolTests {
    @Test func poolNeverOpensMoreThanItsBound() async throws {
        let db = try await TestDatabase.empty()
        let pool = db.pool(max: 3)
        defer { Task { await pool.close() } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<30 {
                group.addTask { try await pool.query("SELECT pg_sleep(0.01)") }
            }
            try await group.waitForAll()
        }
        #expect(pool.openConnections <= 3)
        let name = db.name
        let backends = try await TestDatabase.admin { connection in
            try connection.execute("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = \(name)").first!
                .decode("n", as: Int.self)
        }
        #expect(backends <= 3)
    }

    /// A borrower waits at most the acquire timeout, then gets `.poolExhausted` (a 503 over HTTP).
    @Test func borrowersWaitAtMostTheAcquireTimeout() async throws {
        let db = try await TestDatabase.empty()
        let pool = Pool(
            configuration: .init(conninfo: db.url, maxConnections: 1, acquireTimeout: .milliseconds(200), maxWaiters: 2),
            logger: TestDatabase.quietLogger)
        defer { Task { await pool.close() } }
        // The one connection stays busy for 5 s; the borrower must give up long before that.
        let busy = Task { try await pool.query("SELECT pg_sleep(5)") }
        try await Task.sleep(for: .milliseconds(100))
        let started = ContinuousClock.now
        do {
            try await pool.query("SELECT 1")
            Issue.record("the borrower got a connection that was busy")
        } catch let error as PQError {
            #expect(error.kind == .poolExhausted)
            #expect(error.isConnectionFailure)
        }
        let waited = ContinuousClock.now - started
        // Not a timing test: only "after the timeout, and before the connection came free" is checked,
        // with room for a loaded machine.
        #expect(waited >= .milliseconds(150) && waited < .seconds(4.5), "waited \(waited)")
        _ = try await busy.value
        #expect(try await pool.query("SELECT 1 AS n").first?.decode("n", as: Int.self) == 1, "the pool serves again")
    }

    @Test func poolReplacesConnectionsKilledByTerminateBackend() async throws {
        let db = try await TestDatabase.empty()
        let pool = db.pool(max: 2)
        defer { Task { await pool.close() } }
        // The dead connection is noticed when it is borrowed and replaced, with no error for the caller,
        // even when it is borrowed between the server's termination notice and the socket's close.
        // Repeated, because that window is narrow.
        for _ in 0..<25 {
            let before = try await pool.query("SELECT pg_backend_pid() AS pid").first!.decode("pid", as: Int.self)
            try await db.terminateBackends()
            let after = try await pool.query("SELECT pg_backend_pid() AS pid").first!.decode("pid", as: Int.self)
            #expect(after != before)
        }
        for _ in 0..<5 { try await pool.query("SELECT 1") }
        #expect(pool.openConnections <= 2)
    }

    @Test func aConnectionThatDiesMidQueryFailsThatQueryOnlyThenRecovers() async throws {
        let db = try await TestDatabase.empty()
        let pool = db.pool(max: 1)
        defer { Task { await pool.close() } }
        let pid = try await pool.query("SELECT pg_backend_pid() AS pid").first!.decode("pid", as: Int.self)
        // Kill the backend once it is busy in a query of ours (not before: a connection killed while
        // idle is replaced on borrow, without an error, and the query would then succeed).
        async let killer: Void = {
            for _ in 0..<300 {
                let busy = try await TestDatabase.admin { admin in
                    try admin.execute(
                        "SELECT count(*) AS n FROM pg_stat_activity WHERE pid = \(pid) AND state = 'active' AND query LIKE 'SELECT pg_sleep%'"
                    ).first!.decode("n", as: Int.self)
                }
                if busy > 0 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            _ = try await TestDatabase.admin { try $0.execute("SELECT pg_terminate_backend(\(pid))") }
        }()
        await #expect {
            try await pool.query("SELECT pg_sleep(30)")
        } throws: { error in
            (error as? PQError)?.isConnectionFailure == true
        }
        try await killer
        #expect(try await pool.query("SELECT 1 AS one").first!.decode("one", as: Int.self) == 1)
    }
}
