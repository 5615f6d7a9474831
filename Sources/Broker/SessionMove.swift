import BatonProtocol

/// A session moving from one worker to another: its requests are held meanwhile.
struct SessionMove {
    /// Where a move is.
    enum Phase: Equatable {
        /// Waiting for the session's request in flight to be answered.
        case waiting
        /// EXPORT sent to the old worker.
        case exporting
        /// IMPORT sent to the successor.
        case importing
    }

    /// The worker the session moves to.
    let successor: WorkerID
    /// Where the move is.
    var phase: Phase = .waiting
    /// Monotonic time the session's requests started being held.
    let since: Instant
    /// When the current EXPORT or IMPORT is abandoned (nil while waiting).
    var deadline: Instant?
}
