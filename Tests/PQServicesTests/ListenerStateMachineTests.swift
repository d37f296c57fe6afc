import PQ
import Testing

@testable import PQServices

/// The listener's logic without sockets: each test feeds events and checks the actions.
@Suite struct ListenerStateMachineTests {
    typealias Action = ListenerStateMachine.Action
    let t0 = ContinuousClock.now

    func machine() -> ListenerStateMachine {
        ListenerStateMachine(probeChannel: "probe", heartbeatInterval: .seconds(2), heartbeatTimeout: .seconds(4), backoff: 0.05...0.4)
    }

    func at(_ seconds: Double) -> ContinuousClock.Instant { t0 + .milliseconds(Int((seconds * 1000).rounded())) }

    let probe = Notification(channel: "probe", payload: "", processID: 1)
    let tokenChange = Notification(channel: "keyflare_tokens", payload: "flush", processID: 2)

    /// Connects, sends the first probe and gets its answer: `.connected` is announced then, not before.
    func confirmed(_ m: inout ListenerStateMachine, at seconds: Double = 0) -> [Action] {
        #expect(m.connected(at: at(seconds)) == [.sendProbe])
        #expect(m.probeSent(at: at(seconds)) == [.wait(until: at(seconds + 4))])
        return m.received([probe], resultsDrained: true, at: at(seconds + 0.01))
    }

    @Test func aConnectionIsAnnouncedOnlyWhenItsFirstProbeComesBack() {
        var m = machine()
        #expect(m.start() == [.connect])
        #expect(m.connected(at: at(0)) == [.sendProbe])
        #expect(m.probeSent(at: at(0)) == [.wait(until: at(4))])
        // A notification on another channel is delivered, but does not confirm the connection.
        #expect(m.received([tokenChange], resultsDrained: true, at: at(0.5)) == [.deliver(tokenChange), .wait(until: at(4))])
        #expect(m.received([probe], resultsDrained: true, at: at(1)) == [.announceConnected, .wait(until: at(3))])
    }

    @Test func heartbeatsGoOutEveryIntervalAndNotificationsAreDelivered() {
        var m = machine()
        #expect(confirmed(&m) == [.announceConnected, .wait(until: at(2.01))])
        #expect(m.waited(until: at(2.01)) == [.sendProbe])
        #expect(m.probeSent(at: at(2.01)) == [.wait(until: at(6.01))])
        #expect(m.received([tokenChange, probe], resultsDrained: true, at: at(2.1)) == [.deliver(tokenChange), .wait(until: at(4.1))])
    }

    @Test func aFirstProbeThatNeverComesBackRetriesWithGrowingBackoff() {
        var m = machine()
        _ = m.start()
        _ = m.connected(at: at(0))
        _ = m.probeSent(at: at(0))
        // Nothing arrives: the wait ends at the timeout, and the connection is given up unannounced.
        #expect(m.waited(until: at(4)) == [.close, .backOff(seconds: 0.05, reason: .probeUnanswered)])
        #expect(m.backedOff() == [.connect])
        #expect(m.connectFailed() == [.backOff(seconds: 0.1, reason: .couldNotConnect)])
        #expect(m.backedOff() == [.connect])
        #expect(m.connectFailed() == [.backOff(seconds: 0.2, reason: .couldNotConnect)])
        _ = m.backedOff()
        #expect(m.connectFailed() == [.backOff(seconds: 0.4, reason: .couldNotConnect)])
        _ = m.backedOff()
        #expect(m.connectFailed() == [.backOff(seconds: 0.4, reason: .couldNotConnect)], "the backoff has an upper bound")
    }

    @Test func anUnansweredHeartbeatEndsAnAnnouncedConnectionAndItReconnectsAtOnce() {
        var m = machine()
        _ = m.start()
        _ = confirmed(&m)
        #expect(m.waited(until: at(2.01)) == [.sendProbe])
        _ = m.probeSent(at: at(2.01))
        #expect(m.waited(until: at(6.01)) == [.close, .announceDisconnected, .backOff(seconds: 0, reason: .heartbeatUnanswered)])
        #expect(m.backedOff() == [.connect])
    }

    /// The probe's notification came back but its query result never did: the connection is as
    /// stuck as one that answers nothing, and is ended at the same timeout.
    @Test func aProbeWhoseResultIsNeverDrainedEndsTheConnection() {
        var m = machine()
        _ = m.start()
        _ = m.connected(at: at(0))
        _ = m.probeSent(at: at(0))
        #expect(m.received([probe], resultsDrained: false, at: at(0.1)) == [.announceConnected, .wait(until: at(4.1))])
        #expect(m.waited(until: at(3)) == [.wait(until: at(4.1))], "no new probe while the last one's result is pending")
        #expect(m.waited(until: at(4.1)) == [.close, .announceDisconnected, .backOff(seconds: 0, reason: .heartbeatUnanswered)])
    }

    /// After a lost connection, `.disconnected` comes first and `.connected` again only once the new
    /// connection's probe is back, so a consumer flushes what it cached exactly when nothing can
    /// have been missed any more.
    @Test func aLostConnectionIsAnnouncedAndTheReconnectIsConfirmedBeforeTheFlush() {
        var m = machine()
        _ = m.start()
        _ = confirmed(&m)
        #expect(m.connectionFailed() == [.close, .announceDisconnected, .backOff(seconds: 0, reason: .lost)])
        #expect(m.backedOff() == [.connect])
        #expect(m.connected(at: at(1)) == [.sendProbe], "not announced on connect")
        _ = m.probeSent(at: at(1))
        #expect(m.received([tokenChange], resultsDrained: true, at: at(1.1)) == [.deliver(tokenChange), .wait(until: at(5))])
        #expect(m.received([probe], resultsDrained: true, at: at(1.2)) == [.announceConnected, .wait(until: at(3.2))])
    }

    @Test func aConnectionLostBeforeItsProbeCameBackIsRetriedWithBackoffAndNotAnnounced() {
        var m = machine()
        _ = m.start()
        _ = m.connected(at: at(0))
        _ = m.probeSent(at: at(0))
        #expect(m.connectionFailed() == [.close, .backOff(seconds: 0.05, reason: .lostBeforeConfirmed)])
    }

    @Test func theBackoffStartsOverOnceAConnectionIsConfirmed() {
        var m = machine()
        _ = m.start()
        _ = m.connectFailed()
        _ = m.backedOff()
        _ = m.connectFailed()
        _ = m.backedOff()
        _ = confirmed(&m)
        _ = m.connectionFailed()
        _ = m.backedOff()
        #expect(m.connectFailed() == [.backOff(seconds: 0.05, reason: .couldNotConnect)])
    }

    @Test func stopClosesAndFinishesOnceFromAnyState() {
        var connected = machine()
        _ = connected.start()
        _ = confirmed(&connected)
        #expect(connected.stop() == [.close, .finish])
        #expect(connected.stop() == [])
        #expect(connected.waited(until: at(10)) == [], "a stopped machine asks for nothing")
        var waiting = machine()
        _ = waiting.start()
        _ = waiting.connectFailed()
        #expect(waiting.stop() == [.finish])
        #expect(waiting.backedOff() == [])
    }
}
