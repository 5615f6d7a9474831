import Foundation
import Testing

/// `scripts/ensure-deps` run with stand-ins for `apt-get` and `sudo` first on `PATH`, which record that they
/// were called; everything else (bash, the real headers, the real linker cache) is the machine's own.
@Suite("scripts/ensure-deps installs only what is missing, and never prompts by surprise", .serialized,
       .timeLimit(.minutes(2)),
       .enabled(if: FileManager.default.fileExists(atPath: "/usr/include/zmq.h"), "needs libzmq3-dev installed"))
struct EnsureDepsTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../scripts/ensure-deps").standardizedFileURL.path

    /// A directory of fake commands; each records its arguments in `calls` and exits as written.
    struct FakeTools {
        let directory: String
        var calls: String { (try? String(contentsOfFile: directory + "/calls", encoding: .utf8)) ?? "" }

        init(in parent: String) throws {
            directory = parent + "/bin"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }

        func add(_ name: String, _ body: String) throws {
            let path = directory + "/" + name
            try "#!/bin/sh\n\(body)\n".write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o755)
        }

        /// `apt-get` and `sudo` that fail loudly: nothing may install in these tests.
        func addInstallersThatFail() throws {
            try add("apt-get", "echo \"apt-get $*\" >> \"\(directory)/calls\"; echo 'FAKE apt-get called' >&2; exit 97")
            try add("sudo", "echo \"sudo $*\" >> \"\(directory)/calls\"; echo 'FAKE sudo called' >&2; exit 97")
        }

        /// Runs the script with these tools first on `PATH`; returns its status and output.
        func run(_ arguments: [String] = []) throws -> (Int32?, String) {
            let path = directory + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
            let child = try Child("/bin/bash", [EnsureDepsTests.script] + arguments,
                                  name: "ensure-\(UUID().uuidString.prefix(8))", directory: directory,
                                  environment: ["PATH": path])
            return (child.wait(seconds: 30), child.output)
        }
    }

    @Test("with everything installed, 30 runs in a row install nothing, even with a linker cache too big for a pipe")
    func presentDependenciesAreNeverReinstalled() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let tools = try FakeTools(in: directory)
        try tools.addInstallersThatFail()
        // The real cache, then many more libraries: `ldconfig -p | grep -q` would end in SIGPIPE here.
        let ldconfig = ["/sbin/ldconfig", "/usr/sbin/ldconfig"]
            .first { FileManager.default.isExecutableFile(atPath: $0) }
        try #require(ldconfig != nil, "ldconfig not found")
        try tools.add("ldconfig", """
            \(ldconfig!) "$@"
            i=0
            while [ $i -lt 20000 ]; do echo "	libfiller$i.so (libc6,x86-64) => /usr/lib/f$i.so"; i=$((i+1)); done
            """)
        for run in 1...30 {
            let (status, output) = try tools.run()
            #expect(status == 0, "run \(run): \(output)")
            #expect(!output.contains("FAKE"), "run \(run) tried to install: \(output)")
        }
        #expect(tools.calls.isEmpty, "\(tools.calls)")
    }

    @Test("a user who is not root, with no terminal and a sudo that wants a password, gets the command to run")
    func nonRootWithoutTerminalIsToldTheCommand() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let tools = try FakeTools(in: directory)
        try tools.addInstallersThatFail()
        try tools.add("ldconfig", "exit 0")  // an empty cache: libzmq is missing
        try tools.add("id", "echo 1000")
        try tools.add("sudo", """
            echo "sudo $*" >> "\(tools.directory)/calls"
            [ "$1" = "-n" ] && [ "$2" = "true" ] && exit 1
            echo 'FAKE sudo called' >&2; exit 97
            """)
        let (status, output) = try tools.run()
        #expect(status == 1, "\(output)")
        #expect(output.contains("libzmq3-dev: ZeroMQ"), "\(output)")
        #expect(output.contains("sudo sh -c 'apt-get update && apt-get install -y libzmq3-dev'"), "\(output)")
        #expect(!output.contains("FAKE"), "\(output)")
        #expect(tools.calls == "sudo -n true\n")
    }

    @Test("a user who is not root and may sudo without a password installs with sudo -n, never a prompt")
    func nonRootWithPasswordlessSudoUsesNonInteractiveSudo() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let tools = try FakeTools(in: directory)
        try tools.addInstallersThatFail()
        try tools.add("ldconfig", "exit 0")
        try tools.add("id", "echo 1000")
        try tools.add("sudo", "echo \"sudo $*\" >> \"\(tools.directory)/calls\"")
        let (status, output) = try tools.run()
        #expect(status == 0, "\(output)")
        let calls = tools.calls.split(separator: "\n").map(String.init)
        #expect(calls == [
            "sudo -n true", "sudo -n apt-get update -qq",
            "sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libzmq3-dev",
        ])
    }
}
