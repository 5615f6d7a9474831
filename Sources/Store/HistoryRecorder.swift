import BatonProtocol
import CBatonSys
import Foundation
import GRDB
import Logging
import ServiceThread
import Synchronization

/// The history writer: a dedicated thread that takes batches of events and writes them in transactions,
/// so the broker never waits on SQLite.
///
/// **When it falls behind**, or the database cannot be written: events wait in memory up to
/// ``Options/maxBacklog``. Past that, new *request* events are dropped and counted
/// (``RecorderStats/droppedEvents``, logged); worker and supervisor events are always kept. Client requests are
/// never delayed or lost because of history.
///
/// **When a write fails** for a reason that may pass (disk full, I/O error, a lock), the batch goes back to the
/// head of the queue, history is ``HistoryHealth/degraded``, and the write is retried after
/// ``Options/retryInitialSeconds``, doubling up to ``Options/retryMaxSeconds``. A batch that fails for good (a
/// constraint, a corrupt file) is logged, counted as lost, and writing goes on.
///
/// **Without a database** (it could not be opened at start, see ``HistoryStartup``) the recorder is degraded
/// from the start and tries to open it on the same schedule.
///
/// **At ``close()``** it writes what is pending and then closes every request row still queued or in flight
/// as `abandoned`, and ends every session row still open as `shutdown`, so that after a graceful stop no row is
/// left open.
public final class HistoryRecorder: HistorySink, Sendable {
    /// Recorder settings.
    public struct Options: Sendable {
        /// Events held in memory before request events are dropped.
        public var maxBacklog = 500_000
        /// Longest time between writes, in milliseconds.
        public var flushIntervalMilliseconds = 50
        /// Request retention, checked every ``pruneIntervalSeconds``.
        public var retention: HistoryRetention?
        /// Seconds between retention passes.
        public var pruneIntervalSeconds: Double = 60
        /// Nice value of the writer thread: when the machine is short of CPU, serving requests comes first
        /// and the writer catches up afterwards (within ``maxBacklog``).
        public var writerNice: Int32 = 10
        /// Seconds before a failed write or open is tried again; the wait doubles up to ``retryMaxSeconds``.
        public var retryInitialSeconds: Double = 1
        /// Longest wait between retries, in seconds.
        public var retryMaxSeconds: Double = 10
        /// Seconds between measurements of the database's size (``RecorderStats/fileBytes``).
        public var sizeIntervalSeconds: Double = 5

        /// The defaults.
        public init() {}
    }

    /// Opens the database for writing, when the recorder started without one.
    public typealias Opener = @Sendable () throws(StoreError) -> HistoryDatabase

    struct State: ~Copyable {
        var pending: [HistoryEvent] = []
        var spare: [HistoryEvent] = []
        /// Events the writer has taken and not yet written (they count against the backlog).
        var inWriter = 0
        var stats = RecorderStats()
        var stopping = false
        /// Flush barriers: each runs once the events submitted before it are written (or cannot be).
        var barriers: [@Sendable () -> Void] = []
        /// The writer thread has ended; barriers run at once.
        var ended = false
    }

    let options: Options
    let logger: Logger
    let opener: Opener?
    let state = Mutex(State())
    /// Held around the writer's taking of pending events; a test holds it to keep the writer from draining.
    let writerGate = Mutex(())
    /// The `baton-history` writer thread and the eventfd that wakes it early.
    let thread = ServiceThread<Never>(name: "baton-history")

    /// Starts the writer thread on an open database; it logs to `logger` (by default swift-log's, labelled
    /// `baton.history`).
    public convenience init(database: HistoryDatabase, options: Options = Options(),
                            logger: Logger = Logger(label: "baton.history")) {
        self.init(database: database, opener: nil, problem: nil, options: options, logger: logger)
    }

    /// Starts the writer thread; without a database it is degraded for `problem` and calls `opener` on the
    /// retry schedule until it returns one.
    init(database: HistoryDatabase?, opener: Opener?, problem: String?, options: Options, logger: Logger) {
        self.options = options
        self.logger = logger
        self.opener = opener
        if let problem {
            state.withLock {
                $0.stats.state = .degraded
                $0.stats.problem = problem
            }
        }
        do {
            try thread.start { [self] in
                _ = baton_set_thread_nice(options.writerNice)
                var loop = RecorderLoop(recorder: self, database: database)
                loop.run()
            }
        } catch let failure {
            // Nothing can write: events wait within the backlog, flushes return at once, and status says why.
            state.withLock {
                $0.stats.state = .degraded
                $0.stats.problem = "the history writer cannot run: \(failure)"
                $0.ended = true
            }
            logger.error("history is not recorded: the writer thread cannot run", metadata: ["error": "\(failure)"])
        }
    }

    /// Hands over a batch of events; never blocks on SQLite.
    public func submit(_ events: inout [HistoryEvent]) {
        let count = events.count
        let full = state.withLock { state -> Bool in
            if state.pending.count + state.inWriter + count > options.maxBacklog {
                let kept = events.filter { !$0.isRequestEvent }
                state.stats.droppedEvents += UInt64(count - kept.count)
                state.pending.append(contentsOf: kept)
            } else if state.pending.isEmpty {
                swap(&state.pending, &events)
            } else {
                state.pending.append(contentsOf: events)
            }
            state.stats.maxBacklog = max(state.stats.maxBacklog, state.pending.count + state.inWriter)
            return state.pending.count >= options.maxBacklog / 4
        }
        events.removeAll(keepingCapacity: true)
        if full { thread.wakeUp() }
    }

    /// Records one event (supervisor and worker events, from any thread).
    public func record(_ event: HistoryEvent) {
        var batch = [event]
        submit(&batch)
    }

    /// Calls `done` once every event submitted before this call is committed, or as soon as the writer finds
    /// that they cannot be (history degraded): on the writer thread, or at once on the caller's after the
    /// recorder has stopped. `baton reload` answers through this, so what it reports is already readable.
    public func flush(then done: @escaping @Sendable () -> Void) {
        let now = state.withLock { state -> Bool in
            if state.ended { return true }
            state.barriers.append(done)
            return false
        }
        if now { done() } else { thread.wakeUp() }
    }

    /// Writes what is pending, closes the request rows still open as `abandoned`, stops the thread, and returns
    /// the final counters.
    @discardableResult
    public func close() -> RecorderStats {
        state.withLock { $0.stopping = true }
        thread.wakeUp()
        thread.waitUntilFinishedBlocking()
        return stats
    }

    /// The counters so far.
    public var stats: RecorderStats {
        state.withLock { state in
            var stats = state.stats
            stats.waitingEvents = state.pending.count + state.inWriter
            return stats
        }
    }
}
