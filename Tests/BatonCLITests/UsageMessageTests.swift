import Foundation
import Testing

@testable import BatonCLI

/// The messages a new user meets first say what to do, not only what went wrong.
@Suite("Messages for the first hour's mistakes", .serialized, .timeLimit(.minutes(2)))
struct UsageMessageTests {
    /// Runs `baton` with `arguments` in a fresh directory; returns the status and output.
    func baton(_ arguments: [String], files: [String: String] = [:]) throws -> (Int32?, String) {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for (name, text) in files { try text.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8) }
        return try runBaton(arguments.map { $0.replacingOccurrences(of: "$DIR", with: directory) },
                            directory: directory)
    }

    @Test("a worker command given without `--` is a usage error that says to put it after `--`")
    func workerCommandWithoutDashes() throws {
        let (status, output) = try baton(["serve", "--workers", "1", "python3", "worker.py"])
        #expect(status == 64)
        #expect(output.hasPrefix("Error: 2 unexpected arguments: 'python3', 'worker.py'\n"
                                 + "Put the worker command after `--`: baton serve [<options>] -- COMMAND [ARGS...]\n"),
                "\(output)")
        let (reload, reloadOutput) = try baton(["reload", "/opt/game/v2/server"])
        #expect(reload == 64)
        #expect(reloadOutput.contains("Put the worker command after `--`: baton reload"), "\(reloadOutput)")
    }

    @Test("a misspelt command gets the nearest one suggested; a word far from all gets the list")
    func misspeltCommand() throws {
        let (status, output) = try baton(["stauts"])
        #expect(status == 64)
        #expect(output.hasPrefix("Error: Unexpected argument 'stauts': no such command. Did you mean 'status'?\n"),
                "\(output)")
        let (_, far) = try baton(["deploy"])
        #expect(far.hasPrefix("Error: Unexpected argument 'deploy': no such command. The commands: serve, status, "
                              + "reload, stop, logs, history,"), "\(far)")
        #expect(UsageHint.closest(to: "genrations", among: ["generations", "reload"]) == "generations")
        #expect(UsageHint.closest(to: "wrokers", among: ["workers", "stop"]) == "workers")
        #expect(UsageHint.closest(to: "zzz", among: ["serve", "stop"]) == nil)
        #expect(UsageHint.editDistance("stauts", "status") == 1)
        #expect(UsageHint.editDistance("", "call") == 4)
    }

    @Test("an endpoint without a transport is refused before binding, suggesting tcp://")
    func endpointWithoutScheme() throws {
        let (status, output) = try baton(["serve", "--workers", "0", "--state-dir", "$DIR/state", "--frontend",
                                          "127.0.0.1:5555"])
        #expect(status == 64)
        #expect(output.contains("--frontend 127.0.0.1:5555: an endpoint starts with its transport: tcp://HOST:PORT, "
                                + "ipc:///PATH or inproc://NAME (did you mean tcp://127.0.0.1:5555?)"), "\(output)")
        #expect(!output.contains("Invalid argument"))
        let (bogus, bogusOutput) = try baton(["serve", "--workers", "0", "--frontend", "bogus://nowhere"])
        #expect(bogus == 64)
        #expect(bogusOutput.contains("--frontend bogus://nowhere: an endpoint starts with its transport"),
                "\(bogusOutput)")
        let (call, callOutput) = try baton(["call", "--frontend", "localhost:5555", "hi"])
        #expect(call == 64)
        #expect(callOutput.contains("did you mean tcp://localhost:5555?"), "\(callOutput)")
        #expect(throws: Never.self) { try EndpointCheck.validate("ipc:///run/baton/fe", flag: "--frontend") }
        #expect(throws: (any Error).self) { try EndpointCheck.validate("tcp://", flag: "--frontend") }
    }

    @Test("a config file with an unknown key, or a bad value, is refused naming the file and the line")
    func configFileMistakes() throws {
        let (status, output) = try baton(["serve", "--config", "$DIR/baton.conf"],
                                         files: ["baton.conf": "# comment\nworkers = 2\nwokers = 3\n"])
        #expect(status == 64)
        #expect(output.contains("/baton.conf:3: unknown key 'wokers'; did you mean 'workers'?"), "\(output)")
        let (_, value) = try baton(["serve", "--config", "$DIR/baton.conf"], files: ["baton.conf": "workers = lots\n"])
        #expect(value.contains("/baton.conf:1: The value 'lots' is invalid for '--workers <workers>'"), "\(value)")
        let (_, flag) = try baton(["serve", "--config", "$DIR/baton.conf"], files: ["baton.conf": "workers = false\n"])
        #expect(flag.contains("/baton.conf:1: workers takes a value, not true or false"), "\(flag)")
        let (_, endpoint) = try baton(["serve", "--config", "$DIR/baton.conf"],
                                      files: ["baton.conf": "\nfrontend = 0.0.0.0:5555\n"])
        #expect(endpoint.contains("/baton.conf:2: --frontend 0.0.0.0:5555: an endpoint starts with its transport"),
                "\(endpoint)")
    }

    @Test("a state directory the user may not create says so in one line, and how to choose another",
          .enabled(if: canRunAsNobody, "needs root and setpriv to run serve as another user (nobody)"))
    func stateDirectoryNotWritable() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        chmod(directory, 0o755)
        let (status, output) = try runBatonAsNobody(["serve", "--workers", "0", "--frontend", "ipc://\(directory)/fe",
                                                     "--state-dir", directory + "/state"], directory: directory)
        #expect(status == 2)
        #expect(output.contains("cannot create state directory \(directory)/state (choose one this user may write "
                                + "with --state-dir): cannot create directory \(directory)/state: Permission denied"),
                "\(output)")
        #expect(!output.contains("NSCocoaErrorDomain"))
    }
}
