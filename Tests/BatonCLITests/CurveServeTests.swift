import Broker
import Foundation
import Supervisor
import Testing

@Suite("CURVE on tcp: keygen, key files, pyzmq peers, managed workers", .serialized, .timeLimit(.minutes(3)))
struct CurveServeTests {
    @Test("keygen writes a 0600 secret key file and a public key file, and never overwrites them")
    func keygen() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (status, output) = try runBaton(["keygen", directory + "/server"], directory: directory)
        #expect(status == 0, "\(output)")
        let secret = try FileManager.default.attributesOfItem(atPath: directory + "/server.key")
        #expect((secret[.posixPermissions] as? Int) == 0o600)
        let keyText = try String(contentsOfFile: directory + "/server.key", encoding: .utf8)
        let publicText = try String(contentsOfFile: directory + "/server.pub", encoding: .utf8)
        let publicKey = try #require(publicText.split(separator: "\n").last.map(String.init))
        #expect(publicKey.count == 40)
        #expect(keyText.contains("public-key = \(publicKey)\n"))
        #expect(keyText.contains("secret-key = "))
        #expect(output.contains(publicKey))
        let (again, refusal) = try runBaton(["keygen", directory + "/server"], directory: directory)
        #expect(again == 1)
        #expect(refusal.contains("server.key exists; not overwriting it"), "\(refusal)")
        #expect(try String(contentsOfFile: directory + "/server.key", encoding: .utf8) == keyText)
    }

    @Test("serve refuses a secret key readable by others, a malformed authorised-keys file, and a writable one")
    func unsafeKeyFilesRefused() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = try runBaton(["keygen", directory + "/server"], directory: directory)
        let serve = ["serve", "--frontend", "tcp://127.0.0.1:*", "--state-dir", directory + "/state", "--workers", "0",
                     "--curve-key", directory + "/server.key"]
        chmod(directory + "/server.key", 0o640)
        var (status, output) = try runBaton(serve, directory: directory)
        #expect(status == 2)
        #expect(output.contains("server.key has mode 640: a secret key file must not be accessible by group or others"),
                "\(output)")
        chmod(directory + "/server.key", 0o600)

        let authorized = directory + "/clients"
        try "# players\n\(String(repeating: "A", count: 40))\nnot a key\n".write(toFile: authorized, atomically: true,
                                                                                 encoding: .utf8)
        chmod(authorized, 0o644)
        (status, output) = try runBaton(serve + ["--authorized-clients", authorized], directory: directory)
        #expect(status == 2)
        #expect(output.contains("clients:3: not a 40-character Z85 public key"), "\(output)")
        try "\(String(repeating: "A", count: 40))\n".write(toFile: authorized, atomically: true, encoding: .utf8)
        chmod(authorized, 0o666)
        (status, output) = try runBaton(serve + ["--authorized-clients", authorized], directory: directory)
        #expect(status == 2)
        #expect(output.contains("must not be writable by group or others"), "\(output)")
        (status, output) = try runBaton(["serve", "--authorized-clients", authorized, "--state-dir",
                                         directory + "/other"], directory: directory)
        #expect(status == 2)
        #expect(output.contains("--authorized-workers and --authorized-clients need --curve-key"), "\(output)")
    }

    @Test("pyzmq peers: only the authorised CURVE worker serves, only the authorised client is answered")
    func pyzmqCurvePeers() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for name in ["server", "worker", "rogue", "client", "stranger"] {
            _ = try runBaton(["keygen", "\(directory)/\(name)"], directory: directory)
        }
        try copyKey(from: directory + "/worker.pub", to: directory + "/authorized-workers")
        try copyKey(from: directory + "/client.pub", to: directory + "/authorized-clients")
        let serve = try Child.baton([
            "serve", "--frontend", "tcp://127.0.0.1:*", "--backend", "tcp://127.0.0.1:*", "--workers", "0",
            "--state-dir", directory + "/state", "--curve-key", directory + "/server.key",
            "--authorized-workers", directory + "/authorized-workers",
            "--authorized-clients", directory + "/authorized-clients",
        ], directory: directory)
        #expect(serve.waitForOutput("serving"), "\(serve.output)")
        let (frontend, backend) = try #require(boundEndpoints(serve.output))
        let curve = { (name: String) in
            ["--server-key", directory + "/server.pub", "--curve-key", "\(directory)/\(name).key"]
        }
        let workers = try [
            Child.python("lbbroker_worker.py", [backend, "--prefix", "good:"] + curve("worker"), name: "good",
                         directory: directory),
            Child.python("lbbroker_worker.py", [backend, "--prefix", "rogue:"] + curve("rogue"), name: "rogue",
                         directory: directory),
            Child.python("lbbroker_worker.py", [backend, "--prefix", "plain:"], name: "plain", directory: directory),
        ]
        defer { for worker in workers { worker.signal(SIGKILL) } }
        let refused = waitForStatus("the good worker registers and both others are refused",
                                    stateDir: directory + "/state", directory: directory, log: serve) {
            $0.broker.workers == 1 && $0.broker.connections.unauthorizedWorkers >= 1
                && $0.broker.connections.failedHandshakes >= 1
        }
        #expect(refused != nil, "\(serve.output)")

        let client = try Child.python("lbbroker_client.py",
                                      [frontend, "30", "--expect-prefix", "good:"] + curve("client"),
                                      name: "client", directory: directory)
        #expect(client.wait() == 0, "\(client.output)")
        #expect(client.output.split(separator: "\n").filter { $0.hasPrefix("good:") }.count == 30, "\(client.output)")
        let stranger = try Child.python("lbbroker_client.py",
                                        [frontend, "1", "--timeout-ms", "500"] + curve("stranger"),
                                        name: "stranger", directory: directory)
        #expect(stranger.wait() == 1)
        #expect(stranger.output.contains("timeout waiting for reply 0"), "\(stranger.output)")
        let counted = waitForStatus("the stranger's refusal is counted",
                                    stateDir: directory + "/state", directory: directory, log: serve) {
            $0.broker.connections.unauthorizedClients >= 1
        }
        #expect(counted?.broker.requestsReceived == 30)
        let (status, output) = try runBaton(["call", "--frontend", frontend, "--server-key", directory + "/server.pub",
                                             "--client-key", directory + "/client.key", "hi"], directory: directory)
        #expect(status == 0 && output == "good:hi\n", "\(output)")
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0, "\(serve.output)")
    }

    @Test("managed workers on a tcp CURVE backend get their keys; call and bench use the server's public key")
    func managedWorkersOverCurve() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = try runBaton(["keygen", directory + "/server"], directory: directory)
        let serve = try Child.baton([
            "serve", "--frontend", "tcp://127.0.0.1:*", "--backend", "tcp://127.0.0.1:*", "--workers", "2",
            "--state-dir", directory + "/state", "--curve-key", directory + "/server.key",
            "--heartbeat-interval", "200",
        ], directory: directory)
        defer { serve.signal(SIGKILL) }
        #expect(serve.waitForOutput("serving"), "\(serve.output)")
        let (frontend, _) = try #require(boundEndpoints(serve.output))
        let ready = waitForStatus("both managed workers are ready",
                                  stateDir: directory + "/state", directory: directory, log: serve) {
            $0.slots.allSatisfy { $0.state == .ready } && $0.broker.workers == 2
        }
        #expect(ready != nil, "\(serve.output)")
        let publicKey = try #require(try String(contentsOfFile: directory + "/server.pub", encoding: .utf8)
            .split(separator: "\n").last.map(String.init))
        var (status, output) = try runBaton(["call", "--frontend", frontend, "--server-key", publicKey, "a", "b"],
                                            directory: directory)
        #expect(status == 0 && output == "a\nb\n", "\(output)")
        (status, output) = try runBaton(["bench", "--frontend", frontend, "--server-key", directory + "/server.pub",
                                         "--clients", "4", "--window", "4", "--total", "400"], directory: directory)
        #expect(status == 0, "\(output)")
        #expect(output.contains("matched=400"), "\(output)")
        (status, _) = try runBaton(["call", "--frontend", frontend, "--timeout", "0.3", "plain"], directory: directory)
        #expect(status == 3)
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0, "\(serve.output)")
    }

    @Test("the CURVE and bound flags work as config-file keys")
    func configFileKeys() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for name in ["server", "client"] { _ = try runBaton(["keygen", "\(directory)/\(name)"], directory: directory) }
        try copyKey(from: directory + "/client.pub", to: directory + "/clients")
        try """
            frontend = tcp://127.0.0.1:*
            state-dir = \(directory)/state
            workers = 0
            curve-key = \(directory)/server.key
            authorized-clients = \(directory)/clients
            max-clients = 7
            max-unread-replies = 50
            """.write(toFile: directory + "/baton.conf", atomically: true, encoding: .utf8)
        let serve = try Child.baton(["serve", "--config", directory + "/baton.conf"], directory: directory)
        defer { serve.signal(SIGKILL) }
        #expect(serve.waitForOutput("serving"), "\(serve.output)")
        #expect(serve.output.contains("CURVE on tcp endpoints"))
        let report = waitForStatus("the supervisor answers",
                                   stateDir: directory + "/state", directory: directory, log: serve) { _ in true }
        #expect(report?.broker.connections.maxClients == 7)
        let (frontend, _) = try #require(boundEndpoints(serve.output))
        let (status, _) = try runBaton(["call", "--frontend", frontend, "--server-key", directory + "/server.pub",
                                        "--timeout", "0.5", "unlisted"], directory: directory)
        #expect(status == 3)
        _ = waitForStatus("the unlisted client's refusal is counted",
                          stateDir: directory + "/state", directory: directory, log: serve) {
            $0.broker.connections.unauthorizedClients == 1
        }
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0, "\(serve.output)")
    }

    /// Writes the key line of a `.pub` file, with a comment, to an authorised-keys file (mode 0600).
    private func copyKey(from publicFile: String, to path: String) throws {
        let key = try String(contentsOfFile: publicFile, encoding: .utf8)
        try "# authorised for this test\n\n\(key)".write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o600)
    }
}

/// The frontend and backend `baton serve` logged as bound (real ports for `tcp://…:*`).
func boundEndpoints(_ output: String) -> (frontend: String, backend: String)? {
    guard let line = output.split(separator: "\n").first(where: { $0.hasSuffix(" serving") }) else { return nil }
    func value(_ key: String) -> String? {
        guard let range = line.range(of: " \(key)=") else { return nil }
        return line[range.upperBound...].split(separator: " ").first.map(String.init)
    }
    guard let frontend = value("frontend"), let backend = value("backend") else { return nil }
    return (frontend, backend)
}
