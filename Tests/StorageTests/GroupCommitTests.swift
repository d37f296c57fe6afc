import Foundation
import KeyflareCore
import KeyflareStore
import Logging
import ServiceLifecycle
import Testing

@testable import KeyflareTestSupport

@Suite struct GroupCommitTests {
    @Test func concurrentBatchesShareCommitsAndABadOneFailsAlone() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (accountID, _) = try await t.account()
        let source = try await t.source("busy", account: accountID)
        let committer = GroupCommitter(pool: t.pool, writers: 1, logger: TestDatabase.quietLogger)
        let group = ServiceGroup(services: [committer], logger: TestDatabase.quietLogger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let requests = 200
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { submissions in
                for i in 0..<requests {
                    submissions.addTask {
                        // Request 50 names a source that does not exist.
                        let target = i == 50 ? UUID() : source
                        let event = IngestEvent(timestamp: Date(), json: #"{"i":\#(i)}"#)
                        do {
                            try await committer.insert(IngestBatch(events: [event]), sourceID: target, accountID: accountID)
                            return true
                        } catch let error as KeyflareError {
                            #expect(error == .notFound("source not found"))
                            return false
                        }
                    }
                }
                return try await submissions.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == requests - 1)
            #expect(try await t.eventCount(source: source) == requests - 1)
            #expect(committer.commitCount < requests, "concurrent requests shared transactions (\(committer.commitCount) commits)")
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        // After shutdown nothing is accepted.
        await #expect(throws: KeyflareError.self) {
            try await committer.insert(
                IngestBatch(events: [IngestEvent(timestamp: Date(), json: "{}")]), sourceID: source, accountID: accountID)
        }
    }
}
