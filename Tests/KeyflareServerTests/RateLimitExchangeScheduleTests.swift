import Testing

@testable import KeyflareServer

/// When the rate-limit exchange writes: every tick while tokens are held, a heartbeat a second
/// otherwise, and a token's first request still exchanged on the next tick.
@Suite struct RateLimitExchangeScheduleTests {
    let start = ContinuousClock.now
    let tick = Duration.milliseconds(250)

    /// Runs `ticks` ticks from `schedule`, each succeeding; returns the ticks (1-based) that exchanged.
    func run(_ schedule: inout RateLimitExchangeSchedule, from first: Int = 1, ticks: Int, holdsTokens: (Int) -> Bool) -> [Int] {
        var exchanged: [Int] = []
        for i in first..<(first + ticks) {
            let now = start + tick * i
            if schedule.shouldExchange(now: now, holdsTokens: holdsTokens(i)) {
                exchanged.append(i)
                _ = schedule.exchanged(at: now)
            }
        }
        return exchanged
    }

    @Test func holdingNoTokensOnlyTheHeartbeatIsWrittenOnceASecond() {
        var schedule = RateLimitExchangeSchedule(start: start)
        // The first tick writes (the instance must be counted at once), then one in four.
        let exchanged = run(&schedule, ticks: 40) { _ in false }
        #expect(exchanged == [1, 5, 9, 13, 17, 21, 25, 29, 33, 37])
        // Every gap keeps the row well inside the window other instances count it in.
        #expect(zip(exchanged, exchanged.dropFirst()).allSatisfy { tick * ($1 - $0) <= .seconds(1) })
    }

    @Test func holdingTokensEveryTickExchanges() {
        var schedule = RateLimitExchangeSchedule(start: start)
        #expect(run(&schedule, ticks: 12) { _ in true } == Array(1...12))
    }

    @Test func aTokensFirstRequestOnAnIdleInstanceIsExchangedOnTheNextTick() {
        var schedule = RateLimitExchangeSchedule(start: start)
        #expect(run(&schedule, ticks: 6) { _ in false } == [1, 5])
        // Tick 7 is the first after a request: not due for a heartbeat, exchanged anyway.
        #expect(!schedule.shouldExchange(now: start + tick * 7, holdsTokens: false))
        #expect(schedule.shouldExchange(now: start + tick * 7, holdsTokens: true))
        #expect(run(&schedule, from: 7, ticks: 4) { _ in true } == [7, 8, 9, 10])
        // Once the limiter has forgotten its tokens, back to once a second.
        #expect(run(&schedule, from: 11, ticks: 8) { _ in false } == [14, 18])
    }

    @Test func aFailedExchangeIsRetriedOnTheNextTick() {
        var schedule = RateLimitExchangeSchedule(start: start)
        // Nothing succeeded yet: every tick tries.
        #expect(schedule.shouldExchange(now: start + tick, holdsTokens: false))
        #expect(schedule.shouldExchange(now: start + tick * 2, holdsTokens: false))
        _ = schedule.exchanged(at: start + tick * 2)
        #expect(!schedule.shouldExchange(now: start + tick * 5, holdsTokens: false))
        // The heartbeat at tick 6 fails (not recorded): tick 7 tries again.
        #expect(schedule.shouldExchange(now: start + tick * 6, holdsTokens: false))
        #expect(schedule.shouldExchange(now: start + tick * 7, holdsTokens: false))
    }

    @Test func staleRowsArePrunedOnceAMinuteWhateverTheCadence() {
        var schedule = RateLimitExchangeSchedule(start: start)
        var pruned: [Duration] = []
        // 30 s busy, then 90 s idle: prunes at 60 s and 120 s, from whichever exchange comes first.
        for i in 1...480 {
            let now = start + tick * i
            if schedule.shouldExchange(now: now, holdsTokens: i <= 120), schedule.exchanged(at: now) {
                pruned.append(now - start)
            }
        }
        #expect(pruned == [.seconds(60), .seconds(120)])
    }
}
