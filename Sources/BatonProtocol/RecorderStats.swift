/// Whether history is being recorded.
public enum HistoryHealth: String, Sendable, Codable, Equatable {
    /// The database is open and writes succeed.
    case ok
    /// The database cannot be opened or written: clients are still served, events wait in memory (bounded)
    /// and the recorder retries.
    case degraded
}

/// Counters and health of the history recorder, for `baton status`.
public struct RecorderStats: Sendable, Equatable, Codable {
    /// `ok`, or `degraded` while the database cannot be opened or written.
    public var state = HistoryHealth.ok
    /// Why history is degraded, and what to do about it (nil when ok).
    public var problem: String?
    /// Events waiting in memory to be written now, those of failed writes kept for a retry included.
    public var waitingEvents = 0
    /// Bytes of the database file and its write-ahead log (nil until measured).
    public var fileBytes: Int64?
    /// Bytes of the database's pages in use, what size retention bounds (nil until measured).
    public var usedBytes: Int64?
    /// Transactions written.
    public var batches: UInt64 = 0
    /// Events written.
    public var events: UInt64 = 0
    /// Request rows inserted or updated.
    public var requestRows: UInt64 = 0
    /// Request events dropped because the backlog was full.
    public var droppedEvents: UInt64 = 0
    /// Writes that failed (each retry of a kept batch counts again).
    public var failedBatches: UInt64 = 0
    /// Events that were never written: a write that failed for good (a constraint, a corrupt file), or still
    /// waiting when the recorder stopped without a writable database.
    public var lostEvents: UInt64 = 0
    /// Request rows removed by retention.
    public var prunedRows: UInt64 = 0
    /// Largest backlog seen, in events.
    public var maxBacklog = 0
    /// Time spent writing, in nanoseconds.
    public var writeNanoseconds: UInt64 = 0

    /// Zeroed counters.
    public init() {}
}
