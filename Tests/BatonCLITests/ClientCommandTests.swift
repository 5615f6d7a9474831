import Foundation
import Supervisor
import Testing

@Suite("Client commands find the supervisor and exit with documented statuses", .serialized,
       .timeLimit(.minutes(2)))
struct ClientCommandTests {
    @Test("with nothing answering, every control command exits 3 and names the directory it tried and its source")
    func noSupervisor() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for command in [["status", "--timeout", "1"], ["stop"], ["reload"]] {
            let (status, output) = try runBaton(command + ["--state-dir", directory + "/nowhere"], directory: directory)
            #expect(status == 3, "\(command): \(output)")
            #expect(output.contains("\(directory)/nowhere (from --state-dir)"), "\(command): \(output)")
            #expect(output.contains("BATON_STATE_DIR"), "says how to point elsewhere: \(output)")
        }
    }

    @Test("a server key or a session key that starts with '-' (Z85 has '-') is taken as the value, not as an option")
    func valuesStartingWithADash() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let key = "-" + String(repeating: "0", count: 39)
        for options in [["--server-key", key], ["--session", "-room"]] {
            let (status, output) = try runBaton(["call", "--frontend", "ipc://\(directory)/nobody", "--timeout", "0.3"]
                                                + options + ["x"], directory: directory)
            #expect(status == 3, "no reply in time, not a usage error: \(options): \(output)")
        }
    }

    @Test("BATON_STATE_DIR, then the config file's state-dir, then ./.baton are tried when --state-dir is absent")
    func discovery() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "state-dir = \(directory)/from-config\nworkers = 2\n".write(toFile: directory + "/baton.conf", atomically: true,
                                                                        encoding: .utf8)
        func status(_ arguments: [String], environment: [String: String] = [:]) throws -> String {
            let child = try Child(Harness.batonPath, ["status", "--timeout", "0.5"] + arguments,
                                  name: "status-\(UUID().uuidString.prefix(6))", directory: directory,
                                  environment: environment)
            #expect(child.wait() == 3)
            return child.output
        }
        #expect(try status([], environment: ["BATON_STATE_DIR": directory + "/from-env"])
                    .contains("\(directory)/from-env (from BATON_STATE_DIR)"))
        #expect(try status(["--config", directory + "/baton.conf"])
                    .contains("\(directory)/from-config (from state-dir in \(directory)/baton.conf)"))
        #expect(try status(["--config", directory + "/baton.conf", "--state-dir", directory + "/flag"],
                           environment: ["BATON_STATE_DIR": directory + "/from-env"])
                    .contains("\(directory)/flag (from --state-dir)"), "the flag wins")
        #expect(try status([], environment: ["BATON_STATE_DIR": ""]).contains("/.baton (from the default)"))
    }

    @Test("status exits 1 while no worker is ready and 0 once one is; BATON_STATE_DIR reaches serve's directory")
    func healthExitStatus() throws {
        let serve = try ManagedServe(workers: 0)
        let environment = ["BATON_STATE_DIR": serve.stateDir]
        var answered = false
        for _ in 0..<200 where !answered {
            let child = try Child(Harness.batonPath, ["status", "--timeout", "1"], name: "s-\(UUID().uuidString.prefix(6))",
                                  directory: serve.directory, environment: environment)
            let code = child.wait()
            answered = code == 1
            if !answered { Thread.sleep(forTimeInterval: 0.05) }
        }
        #expect(answered, "a broker with no worker is not healthy: exit 1")
        let worker = try Child(Harness.exampleWorkerPath, [], name: "worker", directory: serve.directory,
                               environment: ["BATON_BACKEND": "ipc://\(serve.stateDir)/backend.ipc"])
        defer { worker.signal(SIGKILL) }
        #expect(eventually(15) {
            (try? Child(Harness.batonPath, ["status", "--timeout", "1"], name: "s-\(UUID().uuidString.prefix(6))",
                        directory: serve.directory, environment: environment).wait()) == 0
        })
    }

    @Test("status --watch redraws with rates; --count stops it")
    func watch() throws {
        let serve = try ManagedServe(workers: 1)
        #expect(serve.waitForStatus("ready") { $0.slots.first?.state == .ready } != nil)
        let (status, output) = try runBaton(["status", "--watch", "--count", "2", "--state-dir", serve.stateDir],
                                            directory: serve.directory)
        #expect(status == 0, "\(output)")
        let frames = output.components(separatedBy: "baton status --watch:")
        #expect(frames.count == 3, "two refreshes: \(output)")
        #expect(frames[1].contains("measured from the next refresh"))
        #expect(frames[2].contains("requests/s 0, replies/s 0, errors/s 0, p99 -"), "\(frames[2])")
        #expect(frames[2].contains("SLOT") && frames[2].contains("ready"))
    }
}
