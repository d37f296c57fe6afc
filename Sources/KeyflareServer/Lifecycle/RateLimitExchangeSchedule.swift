/// When `RateLimitExchange` talks to the database, without the database: each tick in, whether to
/// exchange (and prune) out.
///
/// While the limiter holds tokens, every tick exchanges, so shares follow demand within one tick.
/// The limiter keeps a token for 30 s after its last request (`RateLimiter.takeDemand`), which is
/// what "recently held" means here: a token's demand keeps being published while it decays. Holding
/// none, an instance has no demand to tell and no shares to learn, only that it is alive: then the
/// exchange (with no demand, so only the heartbeat row) runs once per `heartbeat`, which keeps the
/// row well inside `RateLimitDemandStore.liveSeconds` and the live-instance count fresh for the first
/// request of a token. Ticks go on meanwhile, so that first request is exchanged on the next tick,
/// exactly as when every tick exchanged.
struct RateLimitExchangeSchedule {
    typealias Instant = ContinuousClock.Instant

    /// Longest gap between exchanges while the limiter holds no tokens.
    let heartbeat: Duration
    /// How often stale rows of every instance are removed.
    let pruneEvery: Duration
    private var lastExchanged: Instant?
    private var lastPruned: Instant

    /// - Parameters:
    ///   - start: now, when the exchange starts (the first prune is due `pruneEvery` later).
    ///   - heartbeat: longest gap between exchanges while no token is held.
    ///   - pruneEvery: how often stale rows are removed.
    init(start: Instant, heartbeat: Duration = .seconds(1), pruneEvery: Duration = .seconds(60)) {
        self.heartbeat = heartbeat
        self.pruneEvery = pruneEvery
        self.lastPruned = start
    }

    /// Whether this tick exchanges: always while tokens are held, else when the heartbeat is due (or
    /// none has succeeded yet, as at start or after failures).
    /// - Parameters:
    ///   - now: the tick's time.
    ///   - holdsTokens: whether the limiter holds any limited token.
    func shouldExchange(now: Instant, holdsTokens: Bool) -> Bool {
        guard !holdsTokens, let lastExchanged else { return true }
        return now - lastExchanged >= heartbeat
    }

    /// Records an exchange that succeeded; returns whether stale rows should be pruned now.
    /// - Parameters:
    ///   - now: the tick's time (as given to `shouldExchange`).
    mutating func exchanged(at now: Instant) -> Bool {
        lastExchanged = now
        guard now - lastPruned >= pruneEvery else { return false }
        lastPruned = now
        return true
    }
}
