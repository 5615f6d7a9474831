import Foundation

/// The standard `process_*` numbers for the running process, read from Linux's `/proc` (swift-prometheus
/// does not collect them).
public struct ProcessStatistics: Sendable, Equatable {
    /// User plus system CPU time, in seconds.
    public var cpuSeconds: Double
    /// Start time since the Unix epoch, in seconds.
    public var startTimeSeconds: Double
    /// Resident set size, in bytes.
    public var residentMemoryBytes: Int64
    /// Virtual memory size, in bytes.
    public var virtualMemoryBytes: Int64
    /// Open file descriptors.
    public var openFileDescriptors: Int
    /// The soft limit on open file descriptors.
    public var maxFileDescriptors: Int64

    /// Reads the numbers of this process; nil where `/proc` is not available.
    public static func current() -> ProcessStatistics? {
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let bootTime = Self.bootTime()
        else { return nil }
        let openFileDescriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
        var limit = rlimit()
        let maxFileDescriptors = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0
            ? Int64(clamping: limit.rlim_cur) : 0
        return ProcessStatistics(stat: stat, bootTime: bootTime, ticksPerSecond: Int(sysconf(Int32(_SC_CLK_TCK))),
                                 pageSize: Int(sysconf(Int32(_SC_PAGESIZE))),
                                 openFileDescriptors: max(openFileDescriptors - 1, 0),  // less the one listing
                                 maxFileDescriptors: maxFileDescriptors)
    }

    /// Parses `/proc/[pid]/stat` (fields 14, 15, 22, 23 and 24: utime, stime, starttime, vsize, rss).
    init?(stat: String, bootTime: Double, ticksPerSecond: Int, pageSize: Int, openFileDescriptors: Int,
          maxFileDescriptors: Int64) {
        // The command name (field 2) may hold spaces and parentheses: count fields after its last ")".
        guard let close = stat.lastIndex(of: ")"), ticksPerSecond > 0 else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 21, let user = Double(fields[11]), let system = Double(fields[12]),
              let start = Double(fields[19]), let virtual = Int64(fields[20]), let resident = Int64(fields[21])
        else { return nil }
        let ticks = Double(ticksPerSecond)
        cpuSeconds = (user + system) / ticks
        startTimeSeconds = bootTime + start / ticks
        virtualMemoryBytes = virtual
        residentMemoryBytes = resident * Int64(pageSize)
        self.openFileDescriptors = openFileDescriptors
        self.maxFileDescriptors = maxFileDescriptors
    }

    /// The system's boot time since the epoch, in seconds (`btime` in `/proc/stat`).
    private static func bootTime() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst("btime ".count).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }
}
