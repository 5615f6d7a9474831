import Foundation
import GRDB
import Store
import Testing

@Suite("baton serve under a closed log pipe, and external workers without a routing id", .serialized,
       .timeLimit(.minutes(2)))
struct ServeFaultTests {
    @Test("with its log pipe closed (serve 2>&1 | head -c 1), serve drains on SIGTERM, exits 0, records its workers")
    func closedLogPipe() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let frontend = "ipc://\(directory)/fe"
        let stateDir = directory + "/state"
        let pipe = Pipe()
        let serve = Process()
        serve.executableURL = URL(fileURLWithPath: Harness.batonPath)
        serve.arguments = ["serve", "--frontend", frontend, "--state-dir", stateDir, "--workers", "2"]
        serve.standardOutput = pipe
        serve.standardError = pipe
        serve.standardInput = FileHandle.nullDevice
        try serve.run()
        defer { if serve.isRunning { kill(serve.processIdentifier, SIGKILL) } }
        // Like `head -c 1`: read one byte, then go away.
        #expect(try pipe.fileHandleForReading.read(upToCount: 1)?.count == 1)
        try pipe.fileHandleForReading.close()
        let (status, output) = try callBaton(frontend, "hello", timeout: 20, directory: directory)
        #expect(status == 0 && output == "hello\n", "\(output)")
        kill(serve.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(20)
        while serve.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        #expect(!serve.isRunning)
        #expect(serve.terminationReason == .exit && serve.terminationStatus == 0,
                "ended by \(serve.terminationReason == .exit ? "exit" : "signal") \(serve.terminationStatus)")
        let database = try HistoryDatabase.openReadOnly(path: stateDir + "/baton.sqlite")
        let reasons = try database.read { db in try String?.fetchAll(db, sql: "SELECT exit_reason FROM worker") }
        #expect(reasons == ["stopped", "stopped"])
        let kinds = try database.read { db in try String.fetchAll(db, sql: "SELECT kind FROM event ORDER BY id") }
        #expect(kinds.last == "supervisor-stopped")
    }

    @Test("an external lbbroker worker that sets no routing id is recorded as ext-HEX with its requests")
    func workerWithoutRoutingID() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (serve, frontend, backend) = try ServedBroker.start(in: directory)
        let worker = try Child.python("lbbroker_worker.py", [backend, "--prefix", "w:"], name: "worker",
                                      directory: directory)
        defer { worker.signal(SIGKILL) }
        #expect(serve.waitForOutput("worker ready"))
        for index in 0..<3 {
            let (status, output) = try callBaton(frontend, "hi \(index)", timeout: 10, directory: directory)
            #expect(status == 0 && output == "w:hi \(index)\n", "\(output)")
        }
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0)
        #expect(!serve.output.contains("history write failed"), "\(serve.output)")
        let stateDir = directory + "/state"
        let (historyStatus, history) = try runBaton(["history", "--state-dir", stateDir, "--json"],
                                                    directory: directory)
        #expect(historyStatus == 0, "\(history)")
        let rows = try JSONSerialization.jsonObject(with: Data(history.utf8)) as? [[String: Any]] ?? []
        #expect(rows.count == 3, "\(history)")
        #expect(rows.allSatisfy { $0["status"] as? String == "replied" })
        let workerIDs = Set(rows.compactMap { $0["workerID"] as? String })
        #expect(workerIDs.count == 1 && workerIDs.first?.hasPrefix("ext-") == true, "\(workerIDs)")
        let (workersStatus, workers) = try runBaton(["workers", "--state-dir", stateDir], directory: directory)
        #expect(workersStatus == 0)
        #expect(workers.contains(workerIDs.first ?? "?"), "\(workers)")
    }
}
