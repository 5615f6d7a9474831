import Foundation
import Logging
import Testing

@testable import Supervisor

@Suite("What Baton trusts in its state directory", .serialized, .timeLimit(.minutes(1)))
struct StateDirectoryTrustTests {
    let me = geteuid()
    let directoryMode = UInt32(S_IFDIR)
    let fileMode = UInt32(S_IFREG)

    @Test("a file or directory is trusted only when it is ours, not writable by others, and of the expected type")
    func trustRules() {
        #expect(FileTrust(mode: directoryMode | 0o700, owner: me).problem(expected: .directory, runningAs: me) == nil)
        #expect(FileTrust(mode: directoryMode | 0o755, owner: me).problem(expected: .directory, runningAs: me) == nil)
        #expect(FileTrust(mode: fileMode | 0o644, owner: me).problem(expected: .regularFile, runningAs: me) == nil)
        #expect(FileTrust(mode: directoryMode | 0o777, owner: me).problem(expected: .directory, runningAs: me)
            == "is writable by group or others (mode 0777)")
        #expect(FileTrust(mode: fileMode | 0o620, owner: me).problem(expected: .regularFile, runningAs: me)
            == "is writable by group or others (mode 0620)")
        #expect(FileTrust(mode: fileMode | 0o600, owner: 1234).problem(expected: .regularFile, runningAs: 0)
            == "is owned by uid 1234, not by the running uid 0")
        #expect(FileTrust(mode: UInt32(S_IFLNK) | 0o777, owner: me).problem(expected: .regularFile, runningAs: me)
            == "is a symbolic link, not a regular file")
        #expect(FileTrust(mode: fileMode | 0o600, owner: me).problem(expected: .directory, runningAs: me)
            == "is not a directory")
        // A socket's mode does not matter (Baton replaces it when it binds); its owner and type do.
        #expect(FileTrust(mode: UInt32(S_IFSOCK) | 0o777, owner: me).problem(expected: .socket, runningAs: me) == nil)
        #expect(FileTrust(mode: UInt32(S_IFSOCK) | 0o700, owner: 1234).problem(expected: .socket, runningAs: 0) != nil)
    }

    @Test("a directory above is trusted when root or we own it and only they may write it, or it is sticky like /tmp")
    func ancestorRules() {
        #expect(FileTrust(mode: directoryMode | 0o755, owner: 0).ancestorProblem(runningAs: 1000) == nil)
        #expect(FileTrust(mode: directoryMode | 0o700, owner: 1000).ancestorProblem(runningAs: 1000) == nil)
        #expect(FileTrust(mode: directoryMode | 0o1777, owner: 0).ancestorProblem(runningAs: 1000) == nil)
        #expect(FileTrust(mode: directoryMode | 0o755, owner: 1001).ancestorProblem(runningAs: 1000)
            == "is owned by uid 1001, neither root nor the running uid 1000")
        #expect(FileTrust(mode: directoryMode | 0o777, owner: 0).ancestorProblem(runningAs: 0)
            == "is writable by group or others without the sticky bit (mode 0777)")
        #expect(FileTrust(mode: directoryMode | 0o775, owner: 0).ancestorProblem(runningAs: 0) != nil)
    }

    @Test("a new state directory is created with mode 0700, and is ours")
    func createsPrivateDirectory() throws {
        let parent = try makeTemporaryDirectory()
        defer { removeTree(parent) }
        let state = try StateDirectory(path: parent + "/a/state")
        let trust = try #require(FileTrust(path: state.path))
        #expect(trust.permissions == 0o700)
        #expect(trust.owner == me)
        #expect(try #require(FileTrust(path: parent + "/a")).permissions == 0o700)
        #expect(state.socketDirectory == state.path)
    }

    @Test("a world-writable state directory is refused, with the reason, and its workers.pids is never acted on")
    func worldWritableDirectory() throws {
        let parent = try makeTemporaryDirectory()
        defer { removeTree(parent) }
        let directory = parent + "/state"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        chmod(directory, 0o777)
        let sleeper = try startSleeper()
        defer { kill(sleeper.processIdentifier, SIGKILL) }
        try plantRegistry(in: directory, naming: sleeper)

        let error = #expect(throws: SupervisorError.self) { try StateDirectory(path: directory) }
        #expect(error?.code == .untrusted)
        #expect(error?.message == "refusing \(directory): it is writable by group or others (mode 0777)")
        let registryError = #expect(throws: SupervisorError.self) {
            try WorkerRegistry(directory: directory).endLeftovers(logger: Logger(label: "test"))
        }
        #expect(registryError?.code == .untrusted)
        #expect(sleeper.isRunning)
        #expect(FileManager.default.fileExists(atPath: directory + "/workers.pids"))
    }

    @Test("a state directory owned by another user is refused, and its workers.pids is never acted on",
          .enabled(if: runningAsRoot, "planting a directory owned by another user needs root"))
    func directoryOfAnotherUser() throws {
        let parent = try makeTemporaryDirectory()
        defer { removeTree(parent) }
        let directory = parent + "/state"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o700])
        let sleeper = try startSleeper()
        defer { kill(sleeper.processIdentifier, SIGKILL) }
        try plantRegistry(in: directory, naming: sleeper)
        chown(directory, nobodyUID, nobodyUID)

        let error = #expect(throws: SupervisorError.self) { try StateDirectory(path: directory) }
        #expect(error?.message == "refusing \(directory): it is owned by uid \(nobodyUID), not by the running uid 0")
        #expect(throws: SupervisorError.self) {
            try WorkerRegistry(directory: directory).endLeftovers(logger: Logger(label: "test"))
        }
        #expect(sleeper.isRunning)
    }

    @Test("in a trusted directory, a workers.pids that is a symbolic link or another user's file is refused")
    func untrustedRegistryFile() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTree(directory) }
        let sleeper = try startSleeper()
        defer { kill(sleeper.processIdentifier, SIGKILL) }
        try plantRegistry(in: directory, naming: sleeper)
        let registry = WorkerRegistry(directory: directory)
        // A link to a list elsewhere (here: one that names a live process).
        try FileManager.default.moveItem(atPath: registry.path, toPath: directory + "/elsewhere")
        try FileManager.default.createSymbolicLink(atPath: registry.path, withDestinationPath: directory + "/elsewhere")
        let linkError = #expect(throws: SupervisorError.self) { try registry.endLeftovers(logger: Logger(label: "t")) }
        #expect(linkError?.message == "refusing \(registry.path): it is a symbolic link")
        #expect(throws: SupervisorError.self) { try StateDirectory(path: directory) }
        // A group-writable one.
        try FileManager.default.removeItem(atPath: registry.path)
        try FileManager.default.moveItem(atPath: directory + "/elsewhere", toPath: registry.path)
        chmod(registry.path, 0o664)
        #expect(throws: SupervisorError.self) { try registry.endLeftovers(logger: Logger(label: "t")) }
        #expect(throws: SupervisorError.self) { try StateDirectory(path: directory) }
        if runningAsRoot {
            chmod(registry.path, 0o600)
            chown(registry.path, nobodyUID, nobodyUID)
            let error = #expect(throws: SupervisorError.self) { try registry.endLeftovers(logger: Logger(label: "t")) }
            #expect(error?.message.contains("owned by uid \(nobodyUID)") == true)
        }
        #expect(sleeper.isRunning)
    }

    @Test("a symbolic link as the lock, the database or logs/ makes the state directory refused")
    func plantedLinks() throws {
        for name in ["supervisor.lock", "baton.sqlite", "logs", "logs/slot-1.log", "control.ipc"] {
            let directory = try makeTemporaryDirectory()
            defer { removeTree(directory) }
            let target = try makeTemporaryDirectory()
            defer { removeTree(target) }
            if name.hasPrefix("logs/") { mkdir(directory + "/logs", 0o700) }
            try FileManager.default.createSymbolicLink(atPath: directory + "/" + name,
                                                       withDestinationPath: target + "/x")
            let error = #expect(throws: SupervisorError.self, "\(name)") { try StateDirectory(path: directory) }
            #expect(error?.code == .untrusted, "\(name)")
            #expect(error?.message.contains("\(directory)/\(name)") == true, "\(name): \(String(describing: error))")
            #expect(!FileManager.default.fileExists(atPath: target + "/x"), "\(name)")
        }
    }

    @Test("a directory above the state directory that others may write (not sticky) makes it refused")
    func untrustedParent() throws {
        let parent = try makeTemporaryDirectory(mode: 0o777)
        defer { removeTree(parent) }
        let error = #expect(throws: SupervisorError.self) { try StateDirectory(path: parent + "/state") }
        #expect(error?.message == "refusing \(parent)/state: the directory above it, \(parent), is writable by group "
            + "or others without the sticky bit (mode 0777)")
        chmod(parent, 0o1777)
        #expect(throws: Never.self) { try StateDirectory(path: parent + "/state") }
    }

    @Test("a state directory given through a symbolic link above it is used by its real path; a link as it is refused")
    func symbolicLinks() throws {
        let parent = try makeTemporaryDirectory()
        defer { removeTree(parent) }
        mkdir(parent + "/real", 0o700)
        try FileManager.default.createSymbolicLink(atPath: parent + "/alias", withDestinationPath: parent + "/real")
        let state = try StateDirectory(path: parent + "/alias/state")
        #expect(state.path == parent + "/real/state")
        try FileManager.default.createSymbolicLink(atPath: parent + "/state-link",
                                                   withDestinationPath: parent + "/real")
        let linkError = #expect(throws: SupervisorError.self) { try StateDirectory(path: parent + "/state-link") }
        #expect(linkError?.message == "refusing \(parent)/state-link: it is a symbolic link, not a directory")
    }
}
