import Foundation
import Testing

@Suite("baton's command line: errors and refusals", .serialized, .timeLimit(.minutes(2)))
struct CommandLineTests {
    @Test("a second supervisor on the same state directory refuses to start and names the owner")
    func secondSupervisorRefused() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try Child.baton(["serve", "--frontend", "ipc://\(directory)/fe", "--state-dir", directory + "/s",
                                     "--workers", "0"], name: "first", directory: directory)
        #expect(first.waitForOutput("serving"))
        let (status, output) = try runBaton(["serve", "--frontend", "ipc://\(directory)/fe2",
                                             "--state-dir", directory + "/s"], directory: directory)
        #expect(status == 2)
        #expect(output.contains("another supervisor (pid \(first.process.processIdentifier))"), "\(output)")
        first.signal(SIGTERM)
        #expect(first.wait() == 0)
    }

    @Test("an endpoint that cannot be bound is a clear error and a non-zero exit")
    func bindFailure() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A well-formed endpoint on an address this host does not have (TEST-NET-1, RFC 5737). An endpoint with
        // an unknown transport is refused before that, as a usage error (UsageMessageTests).
        let (status, output) = try runBaton(["serve", "--frontend", "tcp://192.0.2.1:5555", "--state-dir", directory],
                                            directory: directory)
        #expect(status == 2)
        #expect(output.contains("cannot bind frontend tcp://192.0.2.1:5555"), "\(output)")
    }

    @Test("bad flag values are usage errors")
    func badFlags() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for (arguments, message) in [
            (["serve", "--max-queued", "0"], "--max-queued must be at least 1"),
            (["serve", "--log-level", "loud"], "unknown log level 'loud'"),
            (["bench", "--size", "4"], "--size must be at least 16"),
            (["serve", "--workers=-1"], "--workers must be 0…4096"),
            (["serve", "--request-timeout=-2"], "--request-timeout must be a number of seconds from 0 to"),
            (["serve", "--drain-timeout=1e300"], "--drain-timeout must be a number of seconds from 0 to"),
            (["frobnicate"], "Unexpected argument 'frobnicate'"),
            (["serve", "--wokers", "3"], "Unknown option '--wokers'. Did you mean '--workers'?"),
            (["reload", "--surge", "2"], "--surge must be 0 or 1"),
            (["history", "--status", "lost"], "--status must be one of queued, in_flight, replied, failed, abandoned"),
        ] {
            let (status, output) = try runBaton(arguments, directory: directory)
            #expect(status == 64, "\(arguments)")
            #expect(output.contains(message), "\(arguments): \(output)")
        }
    }

    @Test("every command has --help, and serve's names the worker command after --")
    func help() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for command in ["serve", "status", "reload", "stop", "history", "generations", "workers", "call", "bench"] {
            let (status, output) = try runBaton([command, "--help"], directory: directory)
            #expect(status == 0, "\(command)")
            #expect(output.contains("USAGE: baton \(command)"), "\(command): \(output)")
        }
        let (_, serve) = try runBaton(["serve", "--help"], directory: directory)
        #expect(serve.contains("USAGE: baton serve [<options>] [-- COMMAND [ARGS...]]"))
        #expect(serve.contains("--history-retention"))
    }

    @Test("baton call reports a missing broker as a timeout with exit status 3 (nothing answered)")
    func callTimeout() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (status, output) = try runBaton(["call", "--frontend", "ipc://\(directory)/nobody", "--timeout", "0.2",
                                             "hello"], directory: directory)
        #expect(status == 3)
        #expect(output.contains("no reply"), "\(output)")
    }

    @Test("baton call prints a BATON-ERR reply to stderr with exit status 4")
    func callErrorReply() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let serve = try Child.baton(["serve", "--frontend", "ipc://\(directory)/fe", "--state-dir", directory + "/s",
                                     "--queue-timeout", "0.1", "--workers", "0"], directory: directory)
        #expect(serve.waitForOutput("serving"))
        let (status, output) = try runBaton(["call", "--frontend", "ipc://\(directory)/fe", "hello"],
                                            directory: directory)
        #expect(status == 4)
        #expect(output.contains("BATON-ERR expired"), "\(output)")
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0)
    }
}
