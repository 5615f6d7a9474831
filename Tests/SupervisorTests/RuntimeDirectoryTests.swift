import Foundation
import Testing

@testable import Supervisor

@Suite("Sockets of a state directory whose path is too long", .serialized, .timeLimit(.minutes(1)))
struct RuntimeDirectoryTests {
    /// A state directory path longer than a socket address allows, under `parent`.
    func longPath(in parent: String) -> String {
        parent + "/" + String(repeating: "d", count: 60) + "/" + String(repeating: "s", count: 40)
    }

    @Test("up to 88 bytes the sockets stay in the state directory; beyond, a short private directory holds them")
    func socketPlacement() throws {
        let parent = try makeTemporaryDirectory()
        defer { removeTree(parent) }
        let xdg = parent + "/xdg"
        mkdir(xdg, 0o700)
        let environment = ["XDG_RUNTIME_DIR": xdg]
        let short = try StateDirectory(path: parent + "/short", environment: environment)
        #expect(short.controlEndpoint == "ipc://\(short.path)/control.ipc")
        #expect(StateDirectory.endpoint(named: "control", in: parent + "/short", environment: environment)
            == short.controlEndpoint)

        let path = longPath(in: parent)
        let long = try StateDirectory(path: path, environment: environment)
        let runtime = xdg + "/baton-" + RuntimeDirectory.key(for: long.path)
        #expect(long.socketDirectory == runtime)
        #expect(long.controlEndpoint == "ipc://\(runtime)/control.ipc")
        #expect(long.defaultBackendEndpoint == "ipc://\(runtime)/backend.ipc")
        #expect(long.controlEndpoint.utf8.count - "ipc://".count <= 107)
        let trust = try #require(FileTrust(path: runtime))
        #expect(trust.permissions == 0o700 && trust.owner == geteuid())
        // A command that connects finds it once the socket exists (it is bound by the supervisor).
        #expect(mknod(runtime + "/control.ipc", mode_t(S_IFSOCK) | 0o600, 0) == 0)
        #expect(StateDirectory.endpoint(named: "control", in: path, environment: environment) == long.controlEndpoint)
    }

    @Test("an XDG_RUNTIME_DIR that others may write is not used; the fixed fallback place is")
    func untrustedXDG() throws {
        let parent = try makeTemporaryDirectory()
        defer { removeTree(parent) }
        let xdg = parent + "/xdg"
        mkdir(xdg, 0o700)
        chmod(xdg, 0o777)
        let long = try StateDirectory(path: longPath(in: parent), environment: ["XDG_RUNTIME_DIR": xdg])
        defer { rmdir(long.socketDirectory) }
        let key = RuntimeDirectory.key(for: long.path)
        let fallback = geteuid() == 0 && FileTrust(path: "/run") != nil
            ? "/run/baton-0/\(key)" : "/tmp/baton-\(geteuid())/\(key)"
        #expect(long.socketDirectory == fallback)
        #expect(try FileManager.default.contentsOfDirectory(atPath: xdg).isEmpty)
    }

    @Test("a private directory place that another user could change is refused, naming it; nothing falls back")
    func plantedBase() throws {
        let parent = try makeTemporaryDirectory()
        defer { removeTree(parent) }
        let base = parent + "/baton-planted"
        mkdir(base, 0o700)
        chmod(base, 0o777)
        let error = #expect(throws: SupervisorError.self) {
            try RuntimeDirectory.privateDirectory(base: base, name: "0123", uid: geteuid())
        }
        #expect(error?.code == .untrusted)
        #expect(error?.message.contains("refusing \(base): it is writable by group or others (mode 0777)") == true,
                "\(String(describing: error))")
        #expect(!FileManager.default.fileExists(atPath: base + "/0123"))
    }
}
