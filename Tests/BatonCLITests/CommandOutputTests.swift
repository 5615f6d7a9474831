import Foundation
import Synchronization
import Testing

@testable import BatonCLI

/// ``CommandOutput`` against real pipes, a real file and /dev/full, in this process. The time limit counts the
/// time spent waiting for one of the test runner's two threads, which this target's live tests hold while they
/// wait on real processes, so it is that of its neighbours rather than what these tests take (under a second).
@Suite("CommandOutput checks every write", .serialized, .timeLimit(.minutes(3)))
struct CommandOutputTests {
    /// A pipe whose read end is drained by `read(_:)`; both ends close-on-exec.
    func makePipe() throws -> (reader: Int32, writer: Int32) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        return (fds[0], fds[1])
    }

    /// Reads everything from `fd` until its write end is closed.
    static func readAll(_ fd: Int32) -> [UInt8] {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count <= 0 { return data }
            data += buffer.prefix(count)
        }
    }

    @Test("text is held until a flush, then arrives whole and in order")
    func heldUntilFlush() throws {
        let (reader, writer) = try makePipe()
        defer { close(reader) }
        let output = CommandOutput(fd: writer, name: "the pipe", capacity: 1024)
        try output.write("one ")
        try output.line("two")
        var item = pollfd(fd: reader, events: Int16(POLLIN), revents: 0)
        #expect(poll(&item, 1, 50) == 0, "nothing written before the flush")
        try output.flush()
        close(writer)
        #expect(String(decoding: Self.readAll(reader), as: UTF8.self) == "one two\n")
    }

    @Test("a closed reader is readerGone, at the next write and at every one after it")
    func readerGoneIsKept() throws {
        _ = signal(SIGPIPE, SIG_IGN)  // as the baton executable does
        let (reader, writer) = try makePipe()
        defer { close(writer) }
        close(reader)
        let output = CommandOutput(fd: writer, name: "the pipe", capacity: 0)
        #expect(throws: OutputFailure.readerGone) { try output.line("lost") }
        #expect(throws: OutputFailure.readerGone) { try output.flush() }
        #expect(throws: OutputFailure.readerGone) { try output.idle(seconds: 0) }
    }

    @Test("idle notices a closed reader at once, with nothing to write")
    func idleNoticesTheReader() throws {
        let (reader, writer) = try makePipe()
        defer { close(writer) }
        let output = CommandOutput(fd: writer, name: "the pipe", capacity: 1024)
        try output.idle(seconds: 0.05)  // the reader is there: it just waits
        close(reader)
        let started = Date()
        #expect(throws: OutputFailure.readerGone) { try output.idle(seconds: 10) }
        #expect(Date().timeIntervalSince(started) < 5)
    }

    @Test("idle on a file waits out its time: a file has no reader to lose")
    func idleOnAFile() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let fd = open(directory + "/out", O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        try #require(fd >= 0)
        defer { close(fd) }
        let output = CommandOutput(fd: fd, name: "the file", capacity: 1024)
        try output.line("kept")
        let started = Date()
        try output.idle(seconds: 0.3)
        #expect(Date().timeIntervalSince(started) >= 0.25)
        #expect(try String(contentsOfFile: directory + "/out", encoding: .utf8) == "kept\n")
    }

    @Test("a full disk is a failure with its errno and a message that names the output")
    func fullDisk() throws {
        let fd = open("/dev/full", O_WRONLY | O_CLOEXEC)
        try #require(fd >= 0)
        defer { close(fd) }
        let output = CommandOutput(fd: fd, name: "standard output", capacity: 1024)
        try output.line("held, not yet written")
        #expect(throws: OutputFailure.failed(name: "standard output", errno: ENOSPC)) { try output.flush() }
        #expect("\(OutputFailure.failed(name: "standard output", errno: ENOSPC))"
                == "cannot write to standard output: No space left on device")
    }

    @Test("a non-blocking descriptor that fills waits for room and loses nothing")
    func nonBlockingWaitsForRoom() throws {
        let (reader, writer) = try makePipe()
        defer { close(reader) }
        _ = fcntl(writer, F_SETFL, fcntl(writer, F_GETFL) | O_NONBLOCK)
        let output = CommandOutput(fd: writer, name: "the pipe", capacity: 0)
        let text = String(repeating: "0123456789abcdef", count: 32 * 1024)  // 512 KiB, eight pipes' worth
        let received = DispatchSemaphore(value: 0)
        let data = Mutex<[UInt8]>([])
        Thread.detachNewThread {
            // The reader starts once the pipe is full, so the writer has met EAGAIN (or after 5 s, and the
            // test still checks that everything arrived).
            let capacity = fcntl(reader, 1032 /* F_GETPIPE_SZ */)
            let deadline = Date().addingTimeInterval(5)
            var queued: Int32 = 0
            while Date() < deadline, ioctl(reader, UInt(FIONREAD), &queued) == 0, queued < capacity {
                Thread.sleep(forTimeInterval: 0.001)
            }
            let all = Self.readAll(reader)
            data.withLock { $0 = all }
            received.signal()
        }
        try output.write(text)
        close(writer)
        #expect(received.wait(timeout: .now() + 20) == .success)
        let all = data.withLock { $0 }
        #expect(all.count == text.utf8.count && all == Array(text.utf8))
    }
}
