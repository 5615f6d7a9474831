import ArgumentParser
import Foundation

/// `baton logs`: the supervisor's log and its workers' output, each line prefixed with where it came from.
struct LogsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Print the supervisor's log and the workers' output (STATE_DIR/logs), and with -f follow them.",
        discussion: """
            Each line is prefixed with its source: `baton |` for the supervisor, `slot N |` for the workers of \
            slot N. Without -f, the last --lines lines of each log; with -f, then every new line as it is \
            written, across rotations, until Ctrl-C or until the output's reader goes away (`| grep -m1 ready`), \
            which ends it with status 0 within about a second. Exit status 1 when there are no logs, 74 when \
            the output cannot be written.
            """
    )

    @OptionGroup var location: StateDirOption

    @Flag(name: [.short, .long], help: "Keep printing new lines as they are written.")
    var follow = false

    @Option(help: "Only the workers of this slot.")
    var slot: Int?

    @Flag(help: "Only the supervisor's own log.")
    var supervisor = false

    @Option(help: "Lines to print from the end of each log first.")
    var lines = 20

    func validate() throws {
        guard lines >= 0 else { throw ValidationError("--lines must not be negative") }
        guard !(supervisor && slot != nil) else { throw ValidationError("--slot and --supervisor do not go together") }
    }

    func run() throws {
        let directory = URL(fileURLWithPath: try location.path).standardizedFileURL.path + "/logs"
        var sources = LogSource.all(in: directory).filter { source in
            if supervisor { return source.slot == nil }
            if let slot { return source.slot == slot }
            return true
        }
        guard !sources.isEmpty || follow else {
            printError("no logs in \(directory): looked in " + location.described())
            throw ExitCode(ExitStatus.unhealthy)
        }
        let output = CommandOutput.standardOutput
        for index in sources.indices {
            for line in sources[index].tail(lines) { try output.line(sources[index].prefix + line) }
        }
        guard follow else { return }
        while true {
            // Also how a reader that has gone is noticed when no line arrives (`logs -f | grep -m1 …`).
            try output.idle(seconds: 0.2)
            for source in LogSource.all(in: directory) where !sources.contains(where: { $0.path == source.path }) {
                guard supervisor ? source.slot == nil : (slot == nil || source.slot == slot) else { continue }
                var fresh = source
                fresh.startAtBeginning()
                sources.append(fresh)
            }
            for index in sources.indices {
                for line in sources[index].newLines() { try output.line(sources[index].prefix + line) }
            }
        }
    }
}

/// One log file being read: its last lines, then what is appended, following it when it is rotated.
struct LogSource {
    let path: String
    /// The slot, or nil for the supervisor's own log.
    let slot: Int?
    private var handle: FileHandle?
    private var inode: UInt64 = 0
    private var partial = Data()

    /// `baton |` or `slot N |`, padded so columns line up.
    var prefix: String { slot.map { "slot \($0) | " } ?? "baton  | " }

    /// The supervisor's log first, then the slots' in order.
    static func all(in directory: String) -> [LogSource] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var sources: [LogSource] = []
        if names.contains("baton.log") { sources.append(LogSource(path: directory + "/baton.log", slot: nil)) }
        let slots = names.compactMap { name -> Int? in
            guard name.hasPrefix("slot-"), name.hasSuffix(".log") else { return nil }
            return Int(name.dropFirst("slot-".count).dropLast(".log".count))
        }
        for slot in slots.sorted() { sources.append(LogSource(path: directory + "/slot-\(slot).log", slot: slot)) }
        return sources
    }

    init(path: String, slot: Int?) {
        self.path = path
        self.slot = slot
    }

    /// The last `count` complete lines; reading then continues from the end.
    mutating func tail(_ count: Int) -> [String] {
        guard open(), let handle else { return [] }
        let size = (try? handle.seekToEnd()) ?? 0
        let window: UInt64 = min(size, UInt64(max(count, 1)) * 512 + 4096)
        try? handle.seek(toOffset: size - window)
        let data = (try? handle.readToEnd()) ?? Data()
        var lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        if window < size, !lines.isEmpty { lines.removeFirst() }  // the first line may be cut
        return lines.suffix(count).map(String.init)
    }

    /// Reads from the beginning next time (a file that appeared while following).
    mutating func startAtBeginning() {
        _ = open()
    }

    /// Complete lines written since the last call; after a rotation, the rest of the old file, then the new one.
    mutating func newLines() -> [String] {
        if handle == nil && !open() { return [] }
        var lines = drain()
        if let current = Self.inode(of: path), current != inode {
            lines += drain()
            partial = Data()
            if open() { lines += drain() }
        }
        return lines
    }

    private mutating func drain() -> [String] {
        guard let handle, let data = try? handle.readToEnd(), !data.isEmpty else { return [] }
        partial.append(data)
        guard let last = partial.lastIndex(of: UInt8(ascii: "\n")) else { return [] }
        let complete = partial[partial.startIndex..<last]
        partial = Data(partial[partial.index(after: last)...])
        return String(decoding: complete, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .map(String.init)
    }

    private mutating func open() -> Bool {
        try? handle?.close()
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else {
            handle = nil
            return false
        }
        handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        inode = Self.inode(of: path) ?? 0
        return true
    }

    private static func inode(of path: String) -> UInt64? {
        var info = stat()
        return lstat(path, &info) == 0 ? UInt64(info.st_ino) : nil
    }
}
