import BatonProtocol
import Foundation
import CBatonSys
import Logging
import Testing

@testable import Supervisor

@Suite("Leftover process trees are found by process group and cgroup", .serialized, .timeLimit(.minutes(1)))
struct ProcessTreeSweepTests {
    func gone(_ pid: Int32) -> Bool {
        guard let entry = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = entry.lastIndex(of: ")") else { return true }
        return entry[entry.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    func eventually(_ seconds: Double = 5, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.02)
        } while Date() < deadline
        return false
    }

    @Test("a recorded worker whose leader is gone still has its group's leftovers ended at the next start")
    func leaderGone() throws {
        let directory = "/tmp/bt-sweep-\(UInt32.random(in: 0 ... .max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A worker as the supervisor starts it (its own process group): a shell with two background sleeps, and
        // a third that does not carry the worker's id (as if the group id had been reused: it must be spared).
        var pgid: Int32 = 0
        var pidfd: Int32 = -1
        let spawned = withCStrings(["/bin/sh", "-c", "sleep 600 & sleep 600 & env -u BATON_WORKER_ID sleep 600 & wait"]) { argv in
            withCStrings(["PATH=/usr/bin:/bin", "BATON_WORKER_ID=w-1"]) { envp in baton_spawn("/bin/sh", argv, envp, -1, -1, -1, &pgid, &pidfd) }
        }
        #expect(spawned == 0)
        if pidfd >= 0 { close(pidfd) }
        #expect(eventually { ProcessTable.members(ofGroup: pgid, startedNotBefore: 0).count == 4 })
        let start = try #require(ProcessTable.entry(of: pgid)?.startTime)
        let registry = WorkerRegistry(directory: directory)
        registry.record([(pid: pgid, workerID: "w-1")])
        let members = ProcessTable.members(ofGroup: pgid, startedNotBefore: start).filter { $0 != pgid }
        let sleeps = members.filter { ProcessTable.environment(of: $0, has: "BATON_WORKER_ID", equalTo: "w-1") }
        let stranger = try #require(members.first { !sleeps.contains($0) })
        defer { kill(stranger, SIGKILL) }
        #expect(sleeps.count == 2)
        // The leader dies alone (as a supervisor's worker does when the supervisor is killed).
        kill(pgid, SIGKILL)
        var code: Int32 = 0
        var signal: Int32 = 0
        #expect(eventually { baton_reap(pgid, &code, &signal) == 1 })
        #expect(sleeps.allSatisfy { !gone($0) }, "the leader's death alone leaves the sleeps running")

        var logger = Logger(label: "test")
        logger.logLevel = .critical
        #expect(try registry.endLeftovers(logger: logger) == 2)
        #expect(eventually { sleeps.allSatisfy(gone) })
        #expect(!gone(stranger), "a process without the worker's id is never killed")
    }

    @Test("a process that left its group is still ended through the pool's cgroup",
          .enabled(if: WorkerCgroup.cgroup2Mount() != nil && getuid() == 0,
                   "needs a cgroup v2 hierarchy that this user may write (root)"))
    func cgroupCatchesEscapees() throws {
        let cgroup = try #require(WorkerCgroup.open(name: "baton-test-\(UInt32.random(in: 0 ... .max))"))
        defer { cgroup.remove() }
        let logs = "/tmp/bt-cg-\(UInt32.random(in: 0 ... .max))"
        defer { try? FileManager.default.removeItem(atPath: logs) }
        // This test runner has children of its own (other tests'): it must not reap what it did not start.
        let launcher = ProcessLauncher(logDirectory: logs, cgroup: cgroup, stopGrace: .milliseconds(200), reapsOrphans: false)
        // The worker starts a sleep in a new session (out of its process group), then waits.
        let command = WorkerCommand(executable: "/bin/sh", arguments: ["-c", "setsid sleep 600 & wait"])
        let pid = try launcher.launch(WorkerLaunch(slot: 1, workerID: "cg-1", generation: 1, command: command,
                                                   environment: [:]))
        #expect(eventually {
            cgroup.members.count == 2 && cgroup.members.allSatisfy { $0 == pid || ProcessTable.entry(of: $0)?.pgid != pid }
        }, "the worker and its sleep, in a session of its own, are in the cgroup")
        let escaped = cgroup.members.filter { $0 != pid }
        #expect(escaped.count == 1)
        launcher.signal(pid, .kill)
        #expect(eventually { launcher.reapExited().contains { $0.pid == pid } })
        launcher.close(killing: false)
        #expect(eventually { escaped.allSatisfy(gone) })
        #expect(cgroup.members.isEmpty)
    }
}
