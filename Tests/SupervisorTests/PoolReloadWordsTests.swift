import BatonProtocol
import Testing

@testable import Supervisor

/// What a reload says happened, and what it says it waits for.
@Suite("Words and waits of a rolling update in the pool's state machine")
struct PoolReloadWordsTests {
    let second: Instant = 1_000_000_000

    /// A one-slot pool mid-reload: the generation 2 worker (pid 201) said READY and the old one (pid 101,
    /// worker "r-1-1") drains. The session drain timeout is 300 s, the reload's drain timeout 1 s.
    func draining() throws -> (PoolCore, incoming: WorkerID) {
        var configuration = PoolConfiguration(workers: 1, runID: "r")
        configuration.restart.jitter = 0
        configuration.sessionDrainTimeout = .seconds(300)
        var pool = PoolCore(configuration: configuration)
        for case .spawn(let slot, let id, _) in pool.start(now: 0) {
            pool.spawned(slot: slot, workerID: id, pid: Int32(100 + slot), now: 0)
            _ = pool.workerReady(id, now: 0)
        }
        var options = ReloadOptions()
        options.readyTimeout = .seconds(2)
        options.drainTimeout = .seconds(1)
        let actions = try pool.beginReload(to: 2, options: options, now: 10 * second)
        #expect(pool.reloadWait(now: 11 * second)
                == ReloadWait(step: .ready, slot: 1, generation: 2, secondsLeft: 1), "READY awaited for 2 s")
        guard case .spawn(_, let incoming, _)? = actions.first(where: { if case .spawn = $0 { true } else { false } })
        else { throw PoolTestFailure.noSpawn }
        pool.spawned(slot: 1, workerID: incoming, pid: 201, now: 10 * second)
        #expect(pool.workerReady(incoming, now: 10 * second).contains(.drain(workerID: "r-1-1", successor: incoming)))
        return (pool, incoming)
    }

    enum PoolTestFailure: Error { case noSpawn }

    @Test("a draining old worker is waited for as long as the session drain timeout, and status says so")
    func drainWaitIsTheSessionDrainTimeout() throws {
        let (pool, _) = try draining()
        let wait = ReloadWait(step: .drain, slot: 1, generation: 2, secondsLeft: 200)
        #expect(pool.reloadWait(now: 110 * second) == wait, "300 s from the drain's start, not the 1 s drain timeout")
        #expect(pool.nextDeadline == 310 * second)
        let status = pool.status(now: 110 * second)
        #expect(status[0].reloadWait == wait && status[0].incomingGeneration == 2)
    }

    @Test("a new worker killed after READY, while the old one drains, rolls back saying it died after READY")
    func newWorkerDiesAfterReady() throws {
        var (pool, _) = try draining()
        var random = SeededGenerator(state: 4)
        let actions = pool.processExited(pid: 201, exit: ProcessExit(signal: 9), now: 20 * second, using: &random)
        let reason = "slot 1: the new worker exited (signal 9) after READY, before the slot was done"
        #expect(progress(actions) == ["rolling back: \(reason)"])
        #expect(actions.contains(.resume(workerID: "r-1-1")))
        #expect(actions.last?.said == .finished(succeeded: false, generation: 2, previous: 1,
                                                message: "rolled back to generation 1: \(reason)"))
    }

    @Test("an old worker that exits while it drains is reported as exited, not as drained, and the new one takes over")
    func oldWorkerDiesWhileDraining() throws {
        var (pool, incoming) = try draining()
        var random = SeededGenerator(state: 5)
        let actions = pool.processExited(pid: 101, exit: ProcessExit(signal: 9), now: 20 * second, using: &random)
        #expect(progress(actions) == ["slot 1: the old worker exited (signal 9) while it drained; the new worker "
                                      + "takes the slot"])
        #expect(actions.last?.said == .finished(succeeded: true, generation: 2, previous: 1,
                                                message: "generation 2 is active in its one slot"))
        #expect(pool.status(now: 20 * second)[0].workerID == incoming.name)
    }

    @Test("a drain that times out says so once, not that the worker drained")
    func drainTimeoutWords() throws {
        var (pool, _) = try draining()
        let actions = pool.tick(now: 310 * second)
        #expect(progress(actions) == ["slot 1: drain timeout; stopping the old worker anyway"])
        #expect(actions.contains(.signal(pid: 101, signal: .terminate)))
    }

    @Test("sessions lost with an old worker that ended are reported as lost, under its slot, not as a failed handoff")
    func sessionsLostWithTheOldWorker() throws {
        var (pool, _) = try draining()
        var random = SeededGenerator(state: 6)
        // Two slots would keep the reload running; one slot's reload ends here, so check the words first.
        #expect(pool.sessionsMoved(from: "r-1-1", moved: 1, failed: 0, lost: 2).map(\.said)
                == [.progress("slot 1: 1 session moved to the new worker; 2 sessions lost: the old worker "
                                    + "ended before they could move")])
        #expect(pool.sessionsMoved(from: "r-1-1", moved: 0, failed: 0, lost: 1).map(\.said)
                == [.progress("slot 1: 1 session lost: the old worker ended before they could move")])
        _ = pool.processExited(pid: 101, exit: ProcessExit(signal: 9), now: 20 * second, using: &random)
        #expect(pool.sessionsMoved(from: "r-1-1", moved: 0, failed: 0, lost: 1).isEmpty, "the reload is over")
    }

    @Test("a slot's old worker that already left its slot is still named by its slot")
    func oldWorkerNamedBySlot() throws {
        var configuration = PoolConfiguration(workers: 2, runID: "r")
        configuration.restart.jitter = 0
        var pool = PoolCore(configuration: configuration)
        for case .spawn(let slot, let id, _) in pool.start(now: 0) {
            pool.spawned(slot: slot, workerID: id, pid: Int32(100 + slot), now: 0)
            _ = pool.workerReady(id, now: 0)
        }
        var random = SeededGenerator(state: 7)
        let first = try pool.beginReload(to: 2, options: ReloadOptions(), now: 0)
        guard case .spawn(_, let incoming, _)? = first.first(where: { if case .spawn = $0 { true } else { false } })
        else { throw PoolTestFailure.noSpawn }
        pool.spawned(slot: 1, workerID: incoming, pid: 201, now: 0)
        _ = pool.workerReady(incoming, now: 0)
        let next = pool.processExited(pid: 101, exit: ProcessExit(signal: 9), now: second, using: &random)
        #expect(progress(next).first == "slot 1: the old worker exited (signal 9) while it drained; the new worker "
                + "takes the slot")
        #expect(pool.sessionsMoved(from: "r-1-1", moved: 2, failed: 0, lost: 1).map(\.said)
                == [.progress("slot 1: 2 sessions moved to the new worker; 1 session lost: the old worker "
                                    + "ended before they could move")])
    }
}

@Suite("How long a rolling update may take")
struct PoolReloadBoundTests {
    let second: Instant = 1_000_000_000

    @Test("a rollback waits for a restored worker no longer than the ready timeout plus the drain allowance")
    func rollbackIsBounded() throws {
        var pool = PoolReloadTests().readyPool(2)
        var random = SeededGenerator(state: 8)
        var options = ReloadOptions()
        options.readyTimeout = .seconds(2)
        options.drainTimeout = .seconds(1)
        let spawns = { (actions: [PoolAction]) in
            actions.compactMap { if case .spawn(_, let id, _) = $0 { id } else { nil } }
        }
        let first = try #require(spawns(try pool.beginReload(to: 2, options: options, now: 0)).first)
        pool.spawned(slot: 1, workerID: first, pid: 201, now: 0)
        _ = pool.workerReady(first, now: 0)
        let next = try #require(spawns(pool.workerDrained("r-1-1", now: 0)).first)
        pool.spawned(slot: 2, workerID: next, pid: 202, now: 0)
        let restore = try #require(spawns(pool.processExited(pid: 202, exit: ProcessExit(code: 1), now: 0, using: &random)).first)
        pool.spawned(slot: 1, workerID: restore, pid: 301, now: 0)
        #expect(pool.reloadWait(now: second)
                == ReloadWait(step: .rollback, slot: nil, generation: 2, secondsLeft: 2))
        #expect(pool.status(now: second)[0].reloadWait?.step == .rollback)
        #expect(pool.status(now: second)[1].reloadWait == nil, "slot 2 is not being restored")
        #expect(pool.tick(now: 2 * second).isEmpty)
        let timedOut = pool.tick(now: 3 * second)
        #expect(timedOut.contains(.signal(pid: 301, signal: .terminate)))
        #expect(timedOut.map(\.said).contains(.progress("slot 1: could not restore the previous generation: no READY in "
                                                  + "time; the slot keeps its generation 2 worker")))
        #expect(timedOut.last?.said == .finished(
            succeeded: false, generation: 2, previous: 1,
            message: "rolled back to generation 1: slot 2: the new worker exited (exit 1) before READY"))
        #expect(pool.status(now: 3 * second).map(\.pid) == [201, 102])
    }

    @Test("the longest reload: every slot's ready timeout and drain allowance, one after another, and a rollback")
    func longestReload() {
        var configuration = PoolConfiguration(workers: 8, runID: "r")
        configuration.sessionDrainTimeout = .seconds(300)
        #expect(configuration.longestReload(ReloadOptions()) == .seconds(9 * 330))
        configuration.sessionDrainTimeout = .seconds(10)
        #expect(configuration.longestReload(ReloadOptions()) == .seconds(9 * 90), "the drain timeout when longer")
    }
}
