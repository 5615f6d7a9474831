import Foundation
import Supervisor
import Testing

/// The read end of a pipe that a child writes its standard output into; closing it is "the reader went away".
final class OutputPipe {
    let reader: Int32
    /// The write end, for the child's standard output.
    let writer: FileHandle
    private var open = true

    init() throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }  // the child gets only its dup2'd stdout
        reader = fds[0]
        writer = FileHandle(fileDescriptor: fds[1], closeOnDealloc: true)
    }

    /// Reads until what was read contains `text`, up to `seconds`; returns what was read.
    func read(until text: String, seconds: Double = 20) -> String {
        var data: [UInt8] = []
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline, !String(decoding: data, as: UTF8.self).contains(text) {
            var item = pollfd(fd: reader, events: Int16(POLLIN), revents: 0)
            guard poll(&item, 1, 100) > 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = Glibc.read(reader, &buffer, buffer.count)
            if count <= 0 { break }
            data += buffer.prefix(count)
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Closes the read end: the writer's next write fails with EPIPE.
    func closeReader() {
        if open { close(reader) }
        open = false
    }

    deinit { closeReader() }
}

/// Every command checks what it writes: a reader that goes away ends it quietly (exit 0, as `yes | head`), a
/// full disk is a message on standard error and exit status 74.
@Suite("Commands check their output: a closed pipe ends them, a full disk is an error", .serialized,
       .timeLimit(.minutes(3)))
struct OutputFailureTests {
    /// Starts `baton ARGUMENTS` writing into `pipe`, waits for `first` in its output, closes the reader and
    /// returns the exit status and how long the command took to end (nil: still running after `seconds`).
    func closeReader(of arguments: [String], pipe: OutputPipe, after first: String, directory: String,
                     input: FileHandle? = nil, seconds: Double = 10) throws -> (status: Int32?, seconds: Double,
                                                                               child: Child) {
        let child = try Child(Harness.batonPath, arguments, name: "piped-\(UUID().uuidString.prefix(6))",
                              directory: directory, standardInput: input, standardOutput: pipe.writer)
        try pipe.writer.close()  // only the child holds the write end now
        let read = pipe.read(until: first)
        #expect(read.contains(first), "\(read)\n\(child.output)")
        pipe.closeReader()
        let closed = Date()
        let status = child.wait(seconds: seconds)
        return (status, Date().timeIntervalSince(closed), child)
    }

    /// Runs `baton ARGUMENTS` with its standard output on /dev/full; returns the status and standard error.
    func intoFullDisk(_ arguments: [String], directory: String) throws -> (status: Int32?, errors: String) {
        let full = try #require(FileHandle(forWritingAtPath: "/dev/full"))
        let child = try Child(Harness.batonPath, arguments, name: "full-\(UUID().uuidString.prefix(6))",
                              directory: directory, standardOutput: full)
        return (child.wait(seconds: 30), child.output)
    }

    @Test("logs -f ends with status 0 within about a second once its reader has gone, with no new line to write")
    func followEndsWhenTheReaderGoes() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let logs = directory + "/state/logs"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        try "first line\nsecond line\n".write(toFile: logs + "/baton.log", atomically: true, encoding: .utf8)
        let pipe = try OutputPipe()
        let (status, seconds, child) = try closeReader(of: ["logs", "-f", "--state-dir", directory + "/state"],
                                                       pipe: pipe, after: "baton  | second line", directory: directory)
        #expect(status == 0, "still running \(seconds) s after its reader went away: \(child.output)")
        #expect(seconds < 5, "took \(seconds) s")
        #expect(child.output.isEmpty, "a closed pipe is not an error: \(child.output)")
    }

    @Test("status --watch ends with status 0 at its next refresh once its reader has gone")
    func watchEndsWhenTheReaderGoes() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (serve, _, _) = try ServedBroker.start(in: directory)
        let pipe = try OutputPipe()
        let (status, seconds, child) = try closeReader(
            of: ["status", "--watch", "--state-dir", directory + "/state"], pipe: pipe, after: "SLOT",
            directory: directory)
        #expect(status == 0, "still running \(seconds) s after its reader went away: \(child.output)")
        #expect(seconds < 5, "took \(seconds) s")
        #expect(child.output.isEmpty, "a closed pipe is not an error: \(child.output)")
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0)
    }

    @Test("status --watch at a terminal ends the same way, and leaves the terminal as it found it")
    func watchAtATerminalEndsWhenTheReaderGoes() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (serve, _, _) = try ServedBroker.start(in: directory)
        // A pseudo-terminal for its standard input (posix_openpt by hand: /dev/ptmx, unlock, its number).
        let master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)
        try #require(master >= 0)
        defer { close(master) }
        var unlock: Int32 = 0
        var number: UInt32 = 0
        let (unlockRequest, numberRequest): (UInt, UInt) = (0x4004_5431, 0x8004_5430)  // TIOCSPTLCK, TIOCGPTN
        try #require(ioctl(master, unlockRequest, &unlock) == 0 && ioctl(master, numberRequest, &number) == 0)
        let terminal = open("/dev/pts/\(number)", O_RDWR | O_NOCTTY | O_CLOEXEC)
        try #require(terminal >= 0)
        defer { close(terminal) }
        var before = termios()
        try #require(tcgetattr(terminal, &before) == 0 && before.c_lflag & tcflag_t(ICANON | ECHO) != 0)
        let pipe = try OutputPipe()
        let (status, seconds, child) = try closeReader(
            of: ["status", "--watch", "--state-dir", directory + "/state"], pipe: pipe, after: "SLOT",
            directory: directory, input: FileHandle(fileDescriptor: terminal, closeOnDealloc: false))
        #expect(status == 0, "still running \(seconds) s after its reader went away: \(child.output)")
        #expect(seconds < 5, "took \(seconds) s")
        var after = termios()
        #expect(tcgetattr(terminal, &after) == 0)
        #expect(after.c_lflag == before.c_lflag, "the terminal is back in canonical mode with echo")
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0)
    }

    @Test("status, history, generations, workers, sessions, logs and logs -f into a full disk say so and exit 74")
    func fullDisk() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (serve, _, _) = try ServedBroker.start(in: directory)
        let state = ["--state-dir", directory + "/state"]
        #expect(eventually { FileManager.default.fileExists(atPath: directory + "/state/baton.sqlite") })
        let commands = [["status"], ["status", "--json"], ["history"], ["history", "--json"], ["generations"],
                        ["workers"], ["sessions", "--all"], ["logs"], ["logs", "-f"]]
        for command in commands {
            let (status, errors) = try intoFullDisk(command + state, directory: directory)
            #expect(status == 74, "baton \(command.joined(separator: " ")): \(errors)")
            #expect(errors.contains("baton: cannot write to standard output: No space left on device"),
                    "baton \(command.joined(separator: " ")): \(errors)")
        }
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0)
    }

    @Test("help and version into a full disk fail the same way")
    func helpIntoFullDisk() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for arguments in [["--help"], ["status", "--help"], ["--version"]] {
            let (status, errors) = try intoFullDisk(arguments, directory: directory)
            #expect(status == 74, "baton \(arguments.joined(separator: " ")): \(errors)")
            #expect(errors.contains("No space left on device"), "\(errors)")
        }
    }

    @Test("a supervisor whose log pipe's reader has gone keeps serving, reloads, and stops with status 0")
    func supervisorSurvivesItsLogReader() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pipe = try OutputPipe()
        let stateDir = directory + "/state"
        // Standard error too: that is where the supervisor logs.
        let serve = try Child(Harness.batonPath, ["serve", "--frontend", "ipc://\(directory)/fe", "--state-dir",
                                                  stateDir, "--workers", "1"],
                              name: "serve", directory: directory, standardOutput: pipe.writer,
                              standardError: pipe.writer)
        defer { serve.signal(SIGKILL) }
        #expect(waitForStatus("ready", stateDir: stateDir, directory: directory, log: serve) {
            $0.slots.first?.state == .ready
        } != nil)
        try pipe.writer.close()
        pipe.closeReader()
        // A reload logs a line for every step, each one a write into the closed pipe.
        let (reload, output) = try runBaton(["reload", "--state-dir", stateDir], directory: directory, seconds: 60)
        #expect(reload == 0, "\(output)")
        #expect(serve.process.isRunning)
        let (stop, stopped) = try runBaton(["stop", "--state-dir", stateDir], directory: directory)
        #expect(stop == 0, "\(stopped)")
        #expect(serve.wait() == 0)
    }
}
