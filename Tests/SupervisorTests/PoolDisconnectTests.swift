import BatonProtocol
import Testing

@testable import Supervisor

@Suite("Workers that say DISCONNECT and leave, in the pool's state machine")
struct PoolDisconnectTests {
    let second: Instant = 1_000_000_000

    func makePool(_ configure: (inout PoolConfiguration) -> Void = { _ in }) -> PoolCore {
        var configuration = PoolConfiguration(workers: 1, runID: "run")
        configuration.restart.jitter = 0
        configure(&configuration)
        var pool = PoolCore(configuration: configuration)
        _ = pool.start(now: 0)
        pool.spawned(slot: 1, workerID: "run-1-1", pid: 10, now: 0)
        _ = pool.workerReady("run-1-1", now: 0)
        return pool
    }

    @Test("DISCONNECT then exit 0 is a clean leave: restarted after the first delay, recorded as disconnected")
    func cleanLeave() {
        var pool = makePool()
        var random = SeededGenerator(state: 1)
        pool.workerDisconnected("run-1-1")
        #expect(pool.exitingWorker(pid: 10, exit: ProcessExit(code: 0))?.reason == .disconnected)
        let actions = pool.processExited(pid: 10, exit: ProcessExit(code: 0), now: second, using: &random)
        #expect(actions == [.workerGone(workerID: "run-1-1", reason: .processEnded(.disconnected, ProcessExit(code: 0))),
                            .workerLeft(slot: 1, after: 100_000_000)])
        #expect(pool.tick(now: second + 100_000_000) == [.spawn(slot: 1, workerID: "run-1-2", generation: 1)])
        #expect(pool.status(now: 2 * second).first?.restarts == 1)
    }

    @Test("leaving cleanly again and again never fails the slot, as that many crashes would")
    func cleanLeavesAreNotCrashes() {
        var pool = makePool { $0.restart.maxCrashes = 1 }
        var random = SeededGenerator(state: 2)
        var now: Instant = 0
        for number in 1...5 {
            let id: WorkerID = "run-1-\(number)"
            pool.workerDisconnected(id)
            now += .milliseconds(100)
            let actions = pool.processExited(pid: Int32(9 + number), exit: ProcessExit(code: 0), now: now, using: &random)
            #expect(actions.last == .workerLeft(slot: 1, after: 100_000_000))
            now += .milliseconds(200)
            #expect(pool.tick(now: now) == [.spawn(slot: 1, workerID: "run-1-\(number + 1)", generation: 1)])
            pool.spawned(slot: 1, workerID: "run-1-\(number + 1)", pid: Int32(10 + number), now: now)
        }
        #expect(pool.status(now: now).first?.state == .starting)
    }

    @Test("DISCONNECT then a non-zero exit is still a crash; so is exit 0 without DISCONNECT")
    func otherExitsAreCrashes() {
        var random = SeededGenerator(state: 3)
        var pool = makePool()
        pool.workerDisconnected("run-1-1")
        #expect(pool.exitingWorker(pid: 10, exit: ProcessExit(code: 1))?.reason == .crashed)
        #expect(pool.processExited(pid: 10, exit: ProcessExit(code: 1), now: second, using: &random).last
                == .restartScheduled(slot: 1, after: 100_000_000, exit: "exit 1"))
        var quiet = makePool()
        #expect(quiet.exitingWorker(pid: 10, exit: ProcessExit(code: 0))?.reason == .crashed)
        #expect(quiet.processExited(pid: 10, exit: ProcessExit(code: 0), now: second, using: &random).last
                == .restartScheduled(slot: 1, after: 100_000_000, exit: "exit 0"))
    }

    @Test("a worker asked to stop that says DISCONNECT on its way out is recorded as stopped, not disconnected")
    func disconnectDuringShutdown() {
        var pool = makePool()
        var random = SeededGenerator(state: 4)
        _ = pool.beginStop(now: second)
        pool.workerDisconnected("run-1-1")
        #expect(pool.exitingWorker(pid: 10, exit: ProcessExit(code: 0))?.reason == .stopped)
        #expect(pool.processExited(pid: 10, exit: ProcessExit(code: 0), now: second, using: &random)
                == [.workerGone(workerID: "run-1-1", reason: .processEnded(.stopped, ProcessExit(code: 0)))])
    }
}
