import BatonProtocol
import Foundation

/// What a running reload waits for now, and until when: carried as data by `status` and by each progress reply
/// of a reload, and put into words where it is shown (``words(timeZone:)``, in `ReloadWait+Words.swift`).
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
}
