import BatonProtocol
import Testing

@testable import Supervisor

@Suite("Rolling update in the pool's state machine")
struct PoolReloadTests {
    let second: Instant = 1_000_000_000

    /// A pool of `workers` slots, all running generation 1 and ready.
    func readyPool(_ workers: Int) -> PoolCore {
        var configuration = PoolConfiguration(workers: workers, runID: "r")
        configuration.restart.jitter = 0
        var pool = PoolCore(configuration: configuration)
        for action in pool.start(now: 0) {
            guard case .spawn(let slot, let id, _) = action else { continue }
            pool.spawned(slot: slot, workerID: id, pid: Int32(100 + slot), now: 0)
            _ = pool.workerReady(id, now: 0)
        }
        return pool
    }

    func spawns(_ actions: [PoolAction]) -> [(slot: Int, id: WorkerID, generation: GenerationID)] {
        actions.compactMap { if case .spawn(let slot, let id, let generation) = $0 { (slot, id, generation) } else { nil } }
    }

    @Test("with surge, each slot starts its new worker, waits for READY, drains the old one, then stops it")
    func surgeSequence() throws {
        var pool = readyPool(2)
        var actions = try pool.beginReload(to: 2, options: ReloadOptions(), now: second)
        let first = try #require(spawns(actions).first)
        #expect(first.slot == 1 && first.generation == 2)
        pool.spawned(slot: 1, workerID: first.id, pid: 201, now: second)
        actions = pool.workerReady(first.id, now: second)
        #expect(actions.contains(.drain(workerID: "r-1-1", successor: first.id)), "sessions move to the new worker")
        #expect(pool.status(now: second)[0].pid == 101, "the old worker still serves while it drains")
        #expect(pool.status(now: second)[0].incomingGeneration == 2 && pool.status(now: second)[0].incomingPid == 201)
        actions = pool.workerDrained("r-1-1", now: second)
        #expect(actions.contains(.signal(pid: 101, signal: .terminate)))
        let next = try #require(spawns(actions).first)
        #expect(next.slot == 2 && next.generation == 2)
        #expect(pool.status(now: second)[0].pid == 201 && pool.status(now: second)[0].generation == 2)
        pool.spawned(slot: 2, workerID: next.id, pid: 202, now: second)
        _ = pool.workerReady(next.id, now: second)
        actions = pool.workerDrained("r-2-2", now: second)
        #expect(actions.map(\.said).contains(.finished(succeeded: true, generation: 2, previous: 1,
                                                 message: "generation 2 is active in all 2 slots")))
        #expect(!pool.reloadInProgress)
        var random = SeededGenerator(state: 1)
        #expect(pool.processExited(pid: 101, exit: ProcessExit(code: 0), now: 2 * second, using: &random)
                == [.workerGone(workerID: "r-1-1", reason: .processEnded(.replaced, ProcessExit(code: 0)))], "a replaced worker is not restarted")
        #expect(pool.exitingWorker(pid: 102)?.reason == .replaced)
    }

    @Test("without surge, the old worker is drained and stopped before its replacement starts")
    func noSurgeSequence() throws {
        var pool = readyPool(1)
        var options = ReloadOptions()
        options.surge = false
        var actions = try pool.beginReload(to: 2, options: options, now: 0)
        #expect(actions.contains(.drain(workerID: "r-1-1", successor: nil)), "no successor yet: sessions drain")
        #expect(spawns(actions).isEmpty)
        actions = pool.workerDrained("r-1-1", now: second)
        #expect(actions.contains(.signal(pid: 101, signal: .terminate)))
        let replacement = try #require(spawns(actions).first)
        pool.spawned(slot: 1, workerID: replacement.id, pid: 201, now: second)
        actions = pool.workerReady(replacement.id, now: second)
        #expect(actions.last?.said == .finished(succeeded: true, generation: 2, previous: 1,
                                                message: "generation 2 is active in its one slot"))
    }

    @Test("a new worker that exits before READY rolls back: new workers end, replaced slots get the old generation")
    func rollbackOnExit() throws {
        var pool = readyPool(2)
        var random = SeededGenerator(state: 2)
        var actions = try pool.beginReload(to: 2, options: ReloadOptions(), now: 0)
        let first = try #require(spawns(actions).first)
        pool.spawned(slot: 1, workerID: first.id, pid: 201, now: 0)
        _ = pool.workerReady(first.id, now: 0)
        actions = pool.workerDrained("r-1-1", now: 0)
        let second = try #require(spawns(actions).first)
        pool.spawned(slot: 2, workerID: second.id, pid: 202, now: 0)
        actions = pool.processExited(pid: 202, exit: ProcessExit(code: 1), now: 10, using: &random)
        #expect(actions.map(\.said).contains(.progress("rolling back: slot 2: the new worker exited (exit 1) before READY")))
        let restore = try #require(spawns(actions).first)
        #expect(restore.slot == 1 && restore.generation == 1, "slot 1 gets a generation 1 worker back")
        #expect(pool.status(now: 10)[1].pid == 102, "slot 2 kept its old worker throughout")
        pool.spawned(slot: 1, workerID: restore.id, pid: 301, now: 10)
        actions = pool.workerReady(restore.id, now: 10)
        #expect(actions == [.drain(workerID: first.id, successor: restore.id)], "sessions move back to the restored worker")
        actions = pool.workerDrained(first.id, now: 20)
        #expect(actions.contains(.signal(pid: 201, signal: .terminate)))
        #expect(actions.last?.said == .finished(
            succeeded: false, generation: 2, previous: 1,
            message: "rolled back to generation 1: slot 2: the new worker exited (exit 1) before READY"))
        #expect(pool.status(now: 20).map(\.generation) == [1, 1])
        #expect(pool.exitingWorker(pid: 201)?.reason == .rolledBack)
    }

    @Test("a new worker that sends no READY in time rolls back; a second reload meanwhile is refused")
    func readyTimeout() throws {
        var pool = readyPool(1)
        var options = ReloadOptions()
        options.readyTimeout = .seconds(2)
        let actions = try pool.beginReload(to: 2, options: options, now: 0)
        let incoming = try #require(spawns(actions).first)
        pool.spawned(slot: 1, workerID: incoming.id, pid: 201, now: 0)
        #expect(throws: PoolCore.ReloadRefusal.alreadyRunning(generation: 2)) {
            _ = try pool.beginReload(to: 3, options: options, now: 0)
        }
        #expect(pool.nextDeadline == 2 * second)
        let timedOut = pool.tick(now: 2 * second)
        #expect(timedOut.contains(.signal(pid: 201, signal: .terminate)))
        #expect(timedOut.last?.said == .finished(
            succeeded: false, generation: 2, previous: 1,
            message: "rolled back to generation 1: slot 1: the new worker sent no READY within 2 s"))
        #expect(pool.status(now: 3 * second).first?.pid == 101)
    }

    @Test("an old worker that is slow to drain is waited for, up to the drain timeout")
    func drainTimeout() throws {
        var pool = readyPool(1)
        var options = ReloadOptions()
        options.drainTimeout = .seconds(5)
        let incoming = try #require(spawns(try pool.beginReload(to: 2, options: options, now: 0)).first)
        pool.spawned(slot: 1, workerID: incoming.id, pid: 201, now: 0)
        _ = pool.workerReady(incoming.id, now: second)
        #expect(!pool.tick(now: 5 * second).contains(.signal(pid: 101, signal: .terminate)), "still draining")
        #expect(pool.tick(now: 6 * second).contains(.signal(pid: 101, signal: .terminate)))
    }

    @Test("a reload revives a failed slot")
    func revivesFailedSlot() throws {
        var pool = readyPool(1)
        var random = SeededGenerator(state: 3)
        _ = pool.spawnFailed(slot: 1, workerID: "r-1-1", reason: "gone", permanent: true, now: 0, using: &random)
        #expect(pool.status(now: 0).first?.state == .failed)
        let incoming = try #require(spawns(try pool.beginReload(to: 2, options: ReloadOptions(), now: 0)).first)
        pool.spawned(slot: 1, workerID: incoming.id, pid: 201, now: 0)
        let actions = pool.workerReady(incoming.id, now: 0)
        #expect(actions.last?.said == .finished(succeeded: true, generation: 2, previous: 1,
                                                message: "generation 2 is active in its one slot"))
        #expect(pool.status(now: 0).first?.state == .ready)
        #expect(pool.status(now: 0).first?.failure == nil)
    }
}

@Suite("Session moves reported during a rolling update")
struct PoolSessionMoveTests {
    @Test("a rollback while a slot's old worker drains resumes that worker, which stays")
    func rollbackResumesTheDrainingWorker() throws {
        var pool = PoolReloadTests().readyPool(1)
        var random = SystemRandomNumberGenerator()
        var actions = try pool.beginReload(to: 2, options: ReloadOptions(), now: 1)
        guard case .spawn(_, let incoming, _)? = actions.first(where: { if case .spawn = $0 { true } else { false } })
        else { Issue.record("no spawn"); return }
        pool.spawned(slot: 1, workerID: incoming, pid: 201, now: 1)
        actions = pool.workerReady(incoming, now: 2)
        #expect(actions.contains(.drain(workerID: "r-1-1", successor: incoming)))
        actions = pool.processExited(pid: 201, exit: ProcessExit(code: 1), now: 3, using: &random)
        #expect(actions.contains(.resume(workerID: "r-1-1")), "\(actions)")
        #expect(pool.status(now: 3)[0].pid == 101, "the old worker keeps the slot")
    }

    @Test("a reload reports how many sessions moved and how many stayed on the old worker")
    func reportsMoves() throws {
        var pool = PoolReloadTests().readyPool(1)
        #expect(pool.sessionsMoved(from: "r-1-1", moved: 3, failed: 0).isEmpty, "no reload, nothing to report")
        _ = try pool.beginReload(to: 2, options: ReloadOptions(), now: 1)
        #expect(pool.sessionsMoved(from: "r-1-1", moved: 3, failed: 1).map(\.said) == [
            .progress("slot 1: 3 sessions moved to the new worker; 1 could not move (handoff failed) and stay "
                            + "on the old worker until they end")])
    }
}
