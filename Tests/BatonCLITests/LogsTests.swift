import Foundation
import Supervisor
import Testing

@Suite("Worker and supervisor logs: captured, rotated by size, and shown by baton logs", .serialized,
       .timeLimit(.minutes(2)))
struct LogsTests {
    /// A worker that prints `count` numbered lines to stdout, then runs the example worker.
    func chattyWorker(in directory: String, count: Int) throws -> String {
        let path = directory + "/chatty.sh"
        try """
            #!/bin/sh
            i=1
            while [ $i -le \(count) ]; do echo "line-$i"; i=$((i + 1)); done
            exec "\(Harness.exampleWorkerPath)"
            """.write(toFile: path, atomically: true, encoding: .utf8)
        _ = chmod(path, 0o755)
        return path
    }

    @Test("a worker's output is rotated by size, keeps --log-keep files, and loses no line in the files kept")
    func rotation() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let serve = try ManagedServe(workers: 1, options: ["--log-max-size", "4KiB", "--log-keep", "2"],
                                     command: [try chattyWorker(in: directory, count: 3000)])
        #expect(serve.waitForStatus("ready") { $0.slots.first?.state == .ready } != nil)
        let logs = serve.stateDir + "/logs/"
        let files = ["slot-1.log.2", "slot-1.log.1", "slot-1.log"]
        for file in files {
            let size = (try? FileManager.default.attributesOfItem(atPath: logs + file)[.size] as? Int) ?? -1
            #expect(size > 0 && size <= 4096, "\(file): \(size) bytes")
        }
        #expect(!FileManager.default.fileExists(atPath: logs + "slot-1.log.3"), "only --log-keep rotated files")
        // Oldest to newest, the kept files hold one contiguous run of lines.
        let text = try files.map { try String(contentsOfFile: logs + $0, encoding: .utf8) }.joined()
        let numbers = text.split(separator: "\n").compactMap { $0.hasPrefix("line-") ? Int($0.dropFirst(5)) : nil }
        #expect(numbers.last == 3000)
        #expect(numbers == Array((numbers.first ?? 0)...3000), "no line lost or reordered across rotations")
    }

    @Test("baton logs prints the last lines of each log with its source, and -f follows new ones")
    func logsCommand() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let serve = try ManagedServe(workers: 2, command: [try chattyWorker(in: directory, count: 30)])
        #expect(serve.waitForStatus("ready") { $0.slots.count == 2 && $0.slots.allSatisfy { $0.state == .ready } } != nil)
        let (status, output) = try runBaton(["logs", "--state-dir", serve.stateDir, "--lines", "40"],
                                            directory: serve.directory)
        #expect(status == 0, "\(output)")
        let lines = output.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("baton  | ") && $0.contains("serving") }, "\(output)")
        for slot in [1, 2] {
            #expect(lines.contains("slot \(slot) | line-30"), "\(output)")
        }
        let (onlyTwo, two) = try runBaton(["logs", "--state-dir", serve.stateDir, "--slot", "2", "--lines", "3"],
                                          directory: serve.directory)
        #expect(onlyTwo == 0 && !two.contains("slot 1 |") && !two.contains("baton  |"), "\(two)")

        let follow = try Child(Harness.batonPath, ["logs", "-f", "--lines", "0", "--state-dir", serve.stateDir],
                               name: "follow", directory: serve.directory)
        defer { follow.signal(SIGKILL) }
        let victim = try #require(serve.status()?.slots.first?.pid)
        kill(victim, SIGKILL)
        #expect(follow.waitForOutput("baton  | "), "the supervisor logs the crash: \(follow.output)")
        #expect(follow.waitForOutput("slot 1 | line-30"), "the new worker's output follows: \(follow.output)")
    }

    @Test("baton logs with no logs says where it looked and exits 1")
    func noLogs() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (status, output) = try runBaton(["logs", "--state-dir", directory + "/none"], directory: directory)
        #expect(status == 1)
        #expect(output.contains("no logs in \(directory)/none/logs"), "\(output)")
    }
}
