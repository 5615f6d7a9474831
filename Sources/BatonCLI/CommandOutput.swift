import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Where a command's output goes: one buffer in front of a file descriptor, every write to it checked.
///
/// Every command writes its standard output through ``standardOutput`` (and its messages through
/// ``standardError``), never through `print`, so that one place decides what a failed write means
/// (``OutputFailure``): a reader that has gone ends the command quietly, any other error (a full disk) ends it
/// with a message and ``ExitStatus/outputFailed``. The first failure is kept: every later write and flush
/// throws it again, so a failure noticed on the way (a flush before a message) is still reported at the end.
final class CommandOutput: Sendable {
    /// Standard output: buffered, flushed by ``flush()``, when the buffer fills, and at exit (``Baton/main()``).
    static let standardOutput = CommandOutput(fd: 1, name: "standard output", capacity: 64 * 1024)
    /// Standard error: written at once, after what standard output holds (so the two keep their order).
    static let standardError = CommandOutput(fd: 2, name: "standard error", capacity: 0, after: standardOutput)

    /// The file descriptor written to.
    let fd: Int32
    /// What to call it in an error message.
    let name: String
    /// Bytes held before they are written; 0 writes every text at once.
    let capacity: Int
    /// Flushed before each write to this one, so that text written to both appears in order.
    let after: CommandOutput?
    private let state = Mutex<State>(State())

    private struct State {
        var pending: [UInt8] = []
        var failure: OutputFailure?
    }

    init(fd: Int32, name: String, capacity: Int, after: CommandOutput? = nil) {
        self.fd = fd
        self.name = name
        self.capacity = capacity
        self.after = after
    }

    /// Appends `text`; writes what is held when that reaches the capacity.
    func write(_ text: String) throws(OutputFailure) {
        try? after?.flush()  // a failure there is kept and reported by its own next flush
        try state.withLock { (state: inout State) throws(OutputFailure) in
            if let failure = state.failure { throw failure }
            state.pending.append(contentsOf: text.utf8)
            if state.pending.count >= capacity { try drain(&state) }
        }
    }

    /// Appends `text` and a newline.
    func line(_ text: String) throws(OutputFailure) {
        try write(text + "\n")
    }

    /// Writes everything held.
    func flush() throws(OutputFailure) {
        try state.withLock { (state: inout State) throws(OutputFailure) in
            if let failure = state.failure { throw failure }
            try drain(&state)
        }
    }

    /// Waits up to `seconds` while nothing is written, and throws ``OutputFailure/readerGone`` as soon as the
    /// reader goes away (a pipe's read end closed, a terminal hung up): how a command that writes only now and
    /// then (`logs -f`) notices at once that nobody reads it. A file is never "gone"; this then just waits.
    func idle(seconds: Double) throws(OutputFailure) {
        try flush()
        var item = pollfd(fd: fd, events: 0, revents: 0)
        let milliseconds = Int32(max(0, min(seconds * 1000, Double(Int32.max))))
        guard poll(&item, 1, milliseconds) > 0 else { return }
        if item.revents & Int16(POLLERR | POLLHUP) != 0 { throw remember(.readerGone) }
        if item.revents & Int16(POLLNVAL) != 0 { throw remember(.failed(name: name, errno: EBADF)) }
    }

    private func remember(_ failure: OutputFailure) -> OutputFailure {
        state.withLock { $0.failure = $0.failure ?? failure }
        return failure
    }

    /// Writes what is held, retrying interrupted and partial writes, waiting when the descriptor is
    /// non-blocking and full; records and throws the first failure.
    private func drain(_ state: inout State) throws(OutputFailure) {
        var offset = 0
        defer { state.pending.removeFirst(offset) }
        while offset < state.pending.count {
            let written = state.pending.withUnsafeBytes { bytes in
                Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            }
            if written > 0 {
                offset += written
                continue
            }
            let code = written < 0 ? errno : EIO
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK {
                var item = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&item, 1, 1000)
                continue
            }
            let failure: OutputFailure = code == EPIPE ? .readerGone : .failed(name: name, errno: code)
            state.failure = failure
            offset = state.pending.count
            throw failure
        }
    }
}
