import Foundation
import Supervisor
import Testing

/// Processes whose environment carries `mark` (every descendant of a process started with it), except `except`.
func markedProcesses(_ mark: String, except: Set<Int32> = []) -> [Int32] {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
    let needle = Data("TREE_MARK=\(mark)".utf8)
    return names.compactMap { name -> Int32? in
        guard let pid = Int32(name), !except.contains(pid), !processIsGone(pid),
              let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ"),
              environ.range(of: needle) != nil
        else { return nil }
        return pid
    }
}

/// Waits until `condition` holds, up to `seconds`.
func eventually(_ seconds: Double = 10, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        Thread.sleep(forTimeInterval: 0.02)
    }
    return condition()
}

@Suite("A worker's whole process tree ends with it: wrapper scripts leave nothing behind", .serialized,
       .timeLimit(.minutes(2)))
struct ProcessTreeTests {
    /// A wrapper like studios write: it starts the real server (and a helper) in the background and waits.
    func writeWrapper(in directory: String) throws -> String {
        let path = directory + "/wrapper.sh"
        try """
            #!/bin/sh
            "\(Harness.exampleWorkerPath)" &
            sleep 600 &
            wait
            """.write(toFile: path, atomically: true, encoding: .utf8)
        _ = chmod(path, 0o755)
        return path
    }

    func serve(_ directory: String, mark: String, wrapper: String, extra: [String] = []) throws -> Child {
        try Child(Harness.batonPath, ["serve", "--frontend", "ipc://\(directory)/fe", "--state-dir", directory + "/state",
                                      "--workers", "2", "--heartbeat-interval", "200", "--stop-grace", "1"]
                      + extra + ["--", wrapper],
                  name: "serve-\(UUID().uuidString.prefix(6))", directory: directory, environment: ["TREE_MARK": mark])
    }

    func waitReady(_ directory: String) -> StatusReport? {
        var last: StatusReport?
        _ = eventually(20) {
            guard let (status, output) = try? runBaton(["status", "--state-dir", directory + "/state", "--json",
                                                        "--timeout", "2"], directory: directory),
                  status == 0 else { return false }
            last = try? JSONDecoder().decode(StatusReport.self, from: Data(output.utf8))
            return last?.slots.count == 2 && last?.slots.allSatisfy { $0.state == .ready } == true
        }
        return last
    }

    @Test("kill -9 of the supervisor ends every process its wrapped workers started, and a restart serves")
    func supervisorKilled() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let mark = UUID().uuidString
        let wrapper = try writeWrapper(in: directory)
        let first = try serve(directory, mark: mark, wrapper: wrapper)
        #expect(waitReady(directory) != nil)
        let supervisor = first.process.processIdentifier
        // Two wrappers, each with an example worker and a sleep, plus the supervisor's watchdog.
        #expect(eventually { markedProcesses(mark, except: [supervisor]).count >= 7 })
        first.signal(SIGKILL)
        #expect(first.wait(seconds: 5) != nil)
        #expect(eventually(5) { markedProcesses(mark).isEmpty }, "left behind: \(markedProcesses(mark))")

        let second = try serve(directory, mark: mark, wrapper: wrapper)
        #expect(waitReady(directory) != nil, "\(second.output)")
        second.signal(SIGTERM)
        #expect(second.wait(seconds: 20) == 0)
        #expect(eventually(5) { markedProcesses(mark).isEmpty }, "left behind: \(markedProcesses(mark))")
    }

    @Test("a wrapper that dies takes its background server with it, and its slot is refilled")
    func wrapperDies() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let mark = UUID().uuidString
        let serve = try serve(directory, mark: mark, wrapper: try writeWrapper(in: directory))
        let before = try #require(waitReady(directory))
        let wrapperPid = try #require(before.slots.first?.pid)
        let group = ProcessTable.members(ofGroup: wrapperPid, startedNotBefore: 0)
        #expect(group.count == 3, "wrapper, example worker and sleep share the worker's process group")
        kill(wrapperPid, SIGKILL)
        #expect(eventually(10) { group.allSatisfy(processIsGone) }, "still running: \(group.filter { !processIsGone($0) })")
        #expect(eventually(20) {
            guard let after = supervisorStatus(stateDir: directory + "/state", directory: directory),
                  let pid = after.slots.first?.pid else { return false }
            return pid != wrapperPid && after.slots.allSatisfy { $0.state == .ready }
        }, "the slot is refilled by a new worker")
        serve.signal(SIGTERM)
        #expect(serve.wait(seconds: 20) == 0)
        #expect(eventually(5) { markedProcesses(mark).isEmpty }, "left behind: \(markedProcesses(mark))")
    }
}
