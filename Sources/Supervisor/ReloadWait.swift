import BatonProtocol
import Foundation

/// What a running reload waits for now, and until when: carried as data by `status` and by each progress reply
/// of a reload, and put into words where it is shown (``words(timeZone:)``).
public struct ReloadWait: Sendable, Codable, Equatable {
    /// What is awaited.
    public enum Step: String, Sendable, Codable {
        /// The slot's new worker was started and has not said READY; at the deadline the reload rolls back.
        case ready
        /// The slot's old worker finishes its requests and sessions (they move, end, or time out); at the
        /// deadline it is stopped anyway.
        case drain
        /// The reload failed: workers of the previous generation are being put back (no deadline of its own).
        case rollback
    }

    /// What is awaited.
    public var step: Step
    /// The slot waited on (nil while rolling back, which restores several slots at once).
    public var slot: Int?
    /// The generation the reload rolls to.
    public var generation: GenerationID
    /// Seconds left until the supervisor stops waiting; nil when the step has no deadline.
    public var secondsLeft: Double?
    /// The same moment on the wall clock, in seconds since 1970 (set by the supervisor, for display).
    public var until: Double?
    /// Requests the old worker still holds (while it drains, when known).
    public var requests: Int?
    /// Sessions the old worker still holds (while it drains, when known).
    public var sessions: Int?

    /// Creates a wait.
    public init(step: Step, slot: Int?, generation: GenerationID, secondsLeft: Double?) {
        self.step = step
        self.slot = slot
        self.generation = generation
        self.secondsLeft = secondsLeft
    }

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
