import BatonProtocol
import Testing

@testable import Supervisor

@Suite("The managed pool's state machine")
struct PoolCoreTests {
    let second: Instant = 1_000_000_000

    func makePool(workers: Int = 2, _ configure: (inout PoolConfiguration) -> Void = { _ in }) -> PoolCore {
        var configuration = PoolConfiguration(workers: workers, runID: "run")
        configuration.restart.jitter = 0
        configure(&configuration)
        return PoolCore(configuration: configuration)
    }

    @Test("start spawns every slot with a fresh worker id, and READY marks the slot ready")
    func startAndReady() {
        var pool = makePool(workers: 3)
        let actions = pool.start(now: 0)
        #expect(actions == [.spawn(slot: 1, workerID: "run-1-1", generation: 1),
                            .spawn(slot: 2, workerID: "run-2-2", generation: 1),
                            .spawn(slot: 3, workerID: "run-3-3", generation: 1)])
        for slot in 1...3 { pool.spawned(slot: slot, workerID: "run-\(slot)-\(slot)", pid: Int32(100 + slot), now: 0) }
        _ = pool.workerReady("run-2-2", now: 0)
        #expect(pool.status(now: second).map(\.state) == [.starting, .ready, .starting])
    }

    @Test("an unexpected exit tells the broker, waits the backoff, then starts a worker with a new id")
    func crashRestart() {
        var pool = makePool(workers: 1)
        var random = SeededGenerator(state: 3)
        _ = pool.start(now: 0)
        pool.spawned(slot: 1, workerID: "run-1-1", pid: 10, now: 0)
        _ = pool.workerReady("run-1-1", now: 0)
        let actions = pool.processExited(pid: 10, exit: ProcessExit(signal: 9), now: second, using: &random)
        #expect(actions == [.workerGone(workerID: "run-1-1", reason: .processEnded(.crashed, ProcessExit(signal: 9))),
                            .restartScheduled(slot: 1, after: 100_000_000, exit: "signal 9")])
        #expect(pool.status(now: second).first?.state == .backoff)
        #expect(pool.nextDeadline == second + 100_000_000)
        #expect(pool.tick(now: second + 50_000_000).isEmpty)
        #expect(pool.tick(now: second + 100_000_000) == [.spawn(slot: 1, workerID: "run-1-2", generation: 1)])
        #expect(pool.status(now: second).first?.restarts == 1)
    }

    @Test("a slot that keeps crashing is marked failed and never restarted")
    func crashLoop() {
        var pool = makePool(workers: 1) { $0.restart.maxCrashes = 2 }
        var random = SeededGenerator(state: 4)
        _ = pool.start(now: 0)
        var now: Instant = 0
        var last: [PoolAction] = []
        for pid in Int32(1)...3 {
            pool.spawned(slot: 1, workerID: "run-1-\(pid)", pid: pid, now: now)
            now += .milliseconds(100)
            last = pool.processExited(pid: pid, exit: ProcessExit(code: 1), now: now, using: &random)
            now += .seconds(1)
            _ = pool.tick(now: now)
        }
        #expect(last.last == .slotFailed(slot: 1, reason: "crashed 3 times within 60 s; last: exit 1"))
        let status = pool.status(now: now).first
        #expect(status?.state == .failed)
        #expect(status?.failure?.contains("crashed 3 times") == true)
        #expect(pool.tick(now: now + .seconds(100)).isEmpty)
    }

    @Test("a binary that cannot be executed fails the slot at once")
    func permanentSpawnFailure() {
        var pool = makePool(workers: 2)
        var random = SeededGenerator(state: 5)
        _ = pool.start(now: 0)
        let actions = pool.spawnFailed(slot: 2, workerID: "run-2-2", reason: "cannot start /x: No such file or directory", permanent: true,
                                       now: 0, using: &random)
        #expect(actions == [.slotFailed(slot: 2, reason: "cannot start /x: No such file or directory")])
        #expect(pool.status(now: 0).map(\.state) == [.starting, .failed])
    }

    @Test("a hung worker gets SIGTERM, SIGKILL after the grace period, and is replaced when it exits")
    func hungWorker() {
        var pool = makePool(workers: 1) { $0.stopGrace = 2 * 1_000_000_000 }
        var random = SeededGenerator(state: 6)
        _ = pool.start(now: 0)
        pool.spawned(slot: 1, workerID: "run-1-1", pid: 42, now: 0)
        #expect(pool.workerHung("run-1-1", now: second) == [.signal(pid: 42, signal: .terminate)])
        #expect(pool.workerHung("run-1-1", now: second).isEmpty, "signalled once")
        #expect(pool.tick(now: 3 * second) == [.signal(pid: 42, signal: .kill)])
        let actions = pool.processExited(pid: 42, exit: ProcessExit(signal: 9), now: 3 * second, using: &random)
        #expect(actions.last == .restartScheduled(slot: 1, after: 100_000_000, exit: "hung, then signal 9"))
    }

    @Test("stopping signals every worker, kills stragglers after the grace period, and restarts nothing")
    func stopping() {
        var pool = makePool(workers: 2) { $0.stopGrace = .seconds(1) }
        var random = SeededGenerator(state: 8)
        _ = pool.start(now: 0)
        pool.spawned(slot: 1, workerID: "run-1-1", pid: 1, now: 0)
        pool.spawned(slot: 2, workerID: "run-2-2", pid: 2, now: 0)
        #expect(pool.beginStop(now: 10 * second) == [.signal(pid: 1, signal: .terminate), .signal(pid: 2, signal: .terminate)])
        #expect(pool.processExited(pid: 1, exit: ProcessExit(code: 0), now: 10 * second, using: &random)
                == [.workerGone(workerID: "run-1-1", reason: .processEnded(.stopped, ProcessExit(code: 0)))])
        #expect(!pool.allExited)
        #expect(pool.tick(now: 11 * second) == [.signal(pid: 2, signal: .kill)])
        _ = pool.processExited(pid: 2, exit: ProcessExit(signal: 9), now: 11 * second, using: &random)
        #expect(pool.allExited)
        #expect(pool.status(now: 12 * second).map(\.state) == [.stopped, .stopped])
    }
}
