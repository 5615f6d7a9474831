import Foundation

/// Reads of `/proc` about other processes: start times and process groups.
public enum ProcessTable {
    /// A process's fields from `/proc/PID/stat` that Baton uses.
    public struct Entry: Sendable, Equatable {
        /// The process group id.
        public var pgid: Int32
        /// The start time, in clock ticks after boot.
        public var startTime: UInt64
    }

    /// The `/proc/PID/stat` fields of a process, or nil if there is no such process.
    public static func entry(of pid: Int32) -> Entry? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after the command name start at field 3 (state): pgrp is field 5, starttime field 22.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let pgid = Int32(fields[2]), let start = UInt64(fields[19]) else { return nil }
        return Entry(pgid: pgid, startTime: start)
    }

    /// Whether a process's environment has the variable `name` set to exactly `value`.
    public static func environment(of pid: Int32, has name: String, equalTo value: String) -> Bool {
        guard let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return false }
        let entry = Array("\(name)=\(value)".utf8)
        return environ.split(separator: 0).contains { Array($0) == entry }
    }

    /// The live processes (among `candidates`, or all of `/proc`) whose environment has `name=value`: what a
    /// worker started, also after it left the worker's process group (a daemon).
    public static func processes(withEnvironment name: String, equalTo value: String,
                                 among candidates: [Int32]? = nil) -> [Int32] {
        let pids = candidates ?? ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap {
            Int32($0)
        }
        return pids.filter { $0 > 1 && $0 != getpid() && environment(of: $0, has: name, equalTo: value) }
    }

    /// The live processes in process group `pgid` that started at or after `startTime`: what is left of a
    /// worker whose leader started then, even after the leader itself is gone (a group id cannot be given to a
    /// new process while any member is alive).
    public static func members(ofGroup pgid: Int32, startedNotBefore startTime: UInt64) -> [Int32] {
        guard pgid > 1, let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return names.compactMap { name -> Int32? in
            guard let pid = Int32(name), let entry = entry(of: pid), entry.pgid == pgid,
                  entry.startTime >= startTime
            else { return nil }
            return pid
        }
    }
}
