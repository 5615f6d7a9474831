import Foundation
import Supervisor
import Testing

/// Whether a command can be run here as `nobody`: the suite runs as root and `setpriv` is installed.
let canRunAsNobody = geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")

/// Runs `baton` as the unprivileged user `nobody` (uid and gid 65534, no supplementary groups) and returns
/// (status, output).
func runBatonAsNobody(_ arguments: [String], directory: String) throws -> (Int32?, String) {
    let child = try Child("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--",
                                               Harness.batonPath] + arguments,
                          name: "nobody-\(UUID().uuidString.prefix(8))", directory: directory)
    let status = child.wait(seconds: 20)
    return (status, child.output)
}

@Suite("Only the supervisor's user and root may control it", .serialized, .timeLimit(.minutes(2)),
       .enabled(if: canRunAsNobody, "needs root and setpriv to run the client as another user (nobody)"))
struct ControlPeerTests {
    /// A broker-only supervisor, answering on its control socket, whose temporary directory `nobody` may pass
    /// through (mode 0711).
    func start() throws -> (Child, directory: String, state: String) {
        let directory = try Harness.temporaryDirectory()
        let (serve, _, _) = try ServedBroker.start(in: directory)
        let (status, output) = try runBaton(["status", "--state-dir", directory + "/state"], directory: directory)
        #expect(status == 1, "answered; a broker alone has no worker ready: \(output)")
        chmod(directory, 0o711)
        return (serve, directory, directory + "/state")
    }

    @Test("a request from another uid reaches the supervisor and is refused: permission denied, exit 77, counted")
    func refusedByUID() throws {
        let (serve, directory, state) = try start()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Loosen what the file system would enforce (as an abstract socket did), to reach the peer check.
        chmod(state, 0o711)
        chmod(state + "/control.ipc", 0o666)
        let commands = [["status", "--state-dir", state], ["stop", "--state-dir", state],
                        ["reload", "--state-dir", state, "--", "/bin/true"]]
        for command in commands {
            let (status, output) = try runBatonAsNobody(command, directory: directory)
            #expect(status == 77, "\(command): \(output)")
            #expect(output.contains("permission denied: uid 65534 may not control a supervisor running as uid 0"),
                    "\(command): \(output)")
            #expect(!output.contains("no supervisor is answering"), "\(command): \(output)")
        }
        let (status, output) = try runBaton(["status", "--state-dir", state, "--json"], directory: directory)
        #expect(status == 1, "answered; a broker alone has no worker ready: \(output)")
        let report = try JSONDecoder().decode(StatusReport.self, from: Data(output.utf8))
        #expect(report.controlPeersRefused == 3)
        #expect(report.slots.isEmpty)
        #expect(serve.output.contains("control request refused"), "\(serve.output)")
        #expect(serve.process.isRunning, "a refused stop does not stop it")
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0)
    }

    @Test("a user who may not open the control socket is told permission denied, not that no supervisor answers")
    func socketNotAccessible() throws {
        let (serve, directory, state) = try start()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // The state directory as Baton leaves it (0700), then passable but with the socket as Baton leaves it (0600).
        for stateMode: mode_t in [0o700, 0o711] {
            chmod(state, stateMode)
            for command in [["status"], ["stop"], ["reload"]] {
                let (status, output) = try runBatonAsNobody(command + ["--state-dir", state], directory: directory)
                #expect(status == 77, "\(command), state dir mode \(stateMode): \(output)")
                #expect(output.contains("permission denied: cannot open the control socket \(state)/control.ipc"),
                        "\(command): \(output)")
            }
        }
        let (status, output) = try runBaton(["status", "--state-dir", state, "--json"], directory: directory)
        #expect(status == 1, "answered; a broker alone has no worker ready: \(output)")
        #expect(try JSONDecoder().decode(StatusReport.self, from: Data(output.utf8)).controlPeersRefused == 0)
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0)
    }
}
