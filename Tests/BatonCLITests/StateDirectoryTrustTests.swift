import Foundation
import Supervisor
import Testing

/// A real `sleep` process, for a planted `workers.pids` line to name.
final class Bystander {
    let process = Process()

    init() throws {
        process.executableURL = URL(fileURLWithPath: "/bin/sleep")
        process.arguments = ["60"]
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }

    /// A `workers.pids` line naming this process by its pid and real start time, as an attacker would write it.
    func registryLine() throws -> String {
        "\(pid) \(try #require(WorkerRegistry.startTime(of: pid))) planted-1-1\n"
    }

    deinit {
        kill(pid, SIGKILL)
        process.waitUntilExit()
    }
}

/// The ipc sockets in the abstract namespace (`@name`) that a process has open.
func abstractSockets(of pid: Int32) -> [String] {
    let fdDirectory = "/proc/\(pid)/fd"
    let inodes = Set(((try? FileManager.default.contentsOfDirectory(atPath: fdDirectory)) ?? []).compactMap { fd in
        (try? FileManager.default.destinationOfSymbolicLink(atPath: fdDirectory + "/" + fd))
            .flatMap { $0.hasPrefix("socket:[") ? String($0.dropFirst(8).dropLast()) : nil }
    })
    let table = (try? String(contentsOfFile: "/proc/net/unix", encoding: .utf8)) ?? ""
    return table.split(separator: "\n").dropFirst().compactMap { line in
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 8, inodes.contains(String(fields[6])), fields[7].hasPrefix("@") else { return nil }
        return String(fields[7])
    }
}

@Suite("serve trusts only a state directory it owns", .serialized, .timeLimit(.minutes(2)))
struct StateDirectoryTrustTests {
    /// Runs `serve` on `state` and returns (status, output); a serve that does not refuse is stopped after 10 s.
    func serve(_ state: String, in directory: String) throws -> (Int32?, String) {
        try runBaton(["serve", "--frontend", "ipc://\(directory)/fe", "--state-dir", state, "--workers", "0"],
                     directory: directory, seconds: 10)
    }

    @Test("a world-writable state directory with a planted workers.pids: serve exits 2 naming why; nothing is killed")
    func worldWritable() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let state = directory + "/state"
        mkdir(state, 0o700)
        chmod(state, 0o777)
        let bystander = try Bystander()
        try bystander.registryLine().write(toFile: state + "/workers.pids", atomically: false, encoding: .utf8)
        let (status, output) = try serve(state, in: directory)
        #expect(status == 2)
        #expect(output.contains("refusing \(state): it is writable by group or others (mode 0777)"), "\(output)")
        #expect(!processIsGone(bystander.pid))
    }

    @Test("a state directory owned by another user with a planted workers.pids: serve exits 2; nothing is killed",
          .enabled(if: geteuid() == 0, "planting a directory owned by another user needs root"))
    func ownedByAnotherUser() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let state = directory + "/state"
        mkdir(state, 0o700)
        let bystander = try Bystander()
        try bystander.registryLine().write(toFile: state + "/workers.pids", atomically: false, encoding: .utf8)
        chown(state + "/workers.pids", 65534, 65534)
        chown(state, 65534, 65534)
        let (status, output) = try serve(state, in: directory)
        #expect(status == 2)
        #expect(output.contains("refusing \(state): it is owned by uid 65534, not by the running uid 0"), "\(output)")
        #expect(!processIsGone(bystander.pid))
    }

    @Test("abstract socket names are refused for the frontend and the backend")
    func abstractEndpointsRefused() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for flag in ["--frontend", "--backend"] {
            let (status, output) = try runBaton(["serve", flag, "ipc://@baton-test-\(flag.dropFirst(2))",
                                                 "--state-dir", directory + "/state", "--workers", "0"],
                                                directory: directory, seconds: 10)
            #expect(status == 64, "\(flag): \(output)")
            #expect(output.contains("an abstract socket name has no permissions"), "\(flag): \(output)")
        }
    }

    /// Serves with a state directory path too long for a socket address, checks that its sockets are files in
    /// a private runtime directory and none is abstract, and that status and stop reach it.
    func serveWithLongPath(environment: [String: String], expectedSocketDirectory: (String) -> String) throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let state = directory + "/" + String(repeating: "l", count: 50) + "/" + String(repeating: "s", count: 50)
        let serve = try Child(Harness.batonPath, ["serve", "--frontend", "ipc://\(directory)/fe", "--state-dir", state,
                                                  "--workers", "1", "--heartbeat-interval", "200"],
                              name: "serve", directory: directory, environment: environment)
        #expect(serve.waitForOutput("serving"), "\(serve.output)")
        let runtime = expectedSocketDirectory(RuntimeDirectory.key(for: state))
        defer { try? FileManager.default.removeItem(atPath: runtime) }
        #expect(serve.output.contains("backend=ipc://\(runtime)/backend.ipc"), "\(serve.output)")
        #expect(FileTrust(path: runtime + "/control.ipc")?.is(.socket) == true)
        #expect(FileTrust(path: runtime)?.permissions == 0o700)
        #expect(abstractSockets(of: serve.process.processIdentifier).isEmpty)

        let deadline = Date().addingTimeInterval(15)
        var report: StatusReport?
        while Date() < deadline, report?.slots.first?.state != .ready {
            let status = try Child(Harness.batonPath, ["status", "--state-dir", state, "--json"], name: "status",
                                   directory: directory, environment: environment)
            if status.wait() == 0 {
                report = try? JSONDecoder().decode(StatusReport.self, from: Data(status.output.utf8))
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        #expect(report?.slots.first?.state == .ready, "the worker connects to the backend in the runtime directory")
        let stop = try Child(Harness.batonPath, ["stop", "--state-dir", state], name: "stop", directory: directory,
                             environment: environment)
        #expect(stop.wait() == 0, "\(stop.output)")
        #expect(serve.wait() == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: runtime).isEmpty, "sockets removed on stop")
    }

    @Test("a state directory path too long for a socket: sockets go to $XDG_RUNTIME_DIR/baton-HASH, never abstract")
    func longPathUnderXDG() throws {
        let xdg = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: xdg) }
        try serveWithLongPath(environment: ["XDG_RUNTIME_DIR": xdg]) { xdg + "/baton-" + $0 }
    }

    @Test("a state directory path too long for a socket, no XDG_RUNTIME_DIR: sockets go to a private fixed place")
    func longPathWithoutXDG() throws {
        let uid = geteuid()
        try serveWithLongPath(environment: ["XDG_RUNTIME_DIR": ""]) { key in
            uid == 0 && FileManager.default.fileExists(atPath: "/run")
                ? "/run/baton-0/" + key : "/tmp/baton-\(uid)/" + key
        }
    }
}
