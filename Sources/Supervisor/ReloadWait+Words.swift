import Foundation

/// A reload's wait in words, for `baton status`, `baton reload` and the supervisor's log.
extension ReloadWait {
    /// The wait as `status` shows it in a slot's STATE column, e.g. "draining 3 sessions, until 12:04:31".
    public func words(timeZone: TimeZone = .current) -> String {
        let deadline = until.map { ", until " + Self.clock($0, timeZone: timeZone) } ?? ""
        switch step {
        case .ready:
            return "waiting for the new worker's READY" + deadline
        case .drain:
            let held = [Self.count(requests, "request"), Self.count(sessions, "session")].compactMap { $0 }
            return "draining" + (held.isEmpty ? "" : " " + held.joined(separator: " and ")) + deadline
        case .rollback:
            return "rolling back to the previous generation" + deadline
        }
    }

    /// The wait as a line of `baton reload`'s progress, e.g. "slot 2: draining 3 sessions, until 12:04:31".
    public func line(timeZone: TimeZone = .current) -> String {
        (slot.map { "slot \($0): " } ?? "") + words(timeZone: timeZone)
    }

    /// "3 sessions", "1 request"; nil for none or unknown.
    private static func count(_ value: Int?, _ noun: String) -> String? {
        guard let value, value > 0 else { return nil }
        return "\(value) \(noun)\(value == 1 ? "" : "s")"
    }

    /// A wall-clock time (seconds since 1970) as HH:mm:ss in `timeZone`.
    public static func clock(_ seconds: Double, timeZone: TimeZone = .current) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.hour, .minute, .second], from: Date(timeIntervalSince1970: seconds))
        func two(_ value: Int?) -> String { value.map { $0 < 10 ? "0\($0)" : "\($0)" } ?? "00" }
        return "\(two(parts.hour)):\(two(parts.minute)):\(two(parts.second))"
    }
}
