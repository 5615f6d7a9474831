import BatonProtocol
import CBatonSys
import Foundation
import GRDB
import Logging
import Synchronization

/// The history writer: a dedicated thread that takes batches of events and writes them in transactions,
/// so the broker never waits on SQLite.
///
/// **When it falls behind**: events wait in memory up to ``Options/maxBacklog``. Past that, new *request*
/// events are dropped and counted (``RecorderStats/droppedEvents``, logged); worker and supervisor events are
/// always kept. Client requests are never delayed or lost because of history. A failed write (disk full, I/O
/// error) loses that batch's rows, is logged at error level and counted, and writing goes on.
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

        /// The defaults.
        public init() {}
    }

    struct State: ~Copyable {
        var pending: [HistoryEvent] = []
        var spare: [HistoryEvent] = []
        var stats = RecorderStats()
        var stopping = false
    }

    let database: HistoryDatabase
    let options: Options
    let logger: Logger
    let state = Mutex(State())
    /// Held around the writer's taking of pending events; a test holds it to keep the writer from draining.
    let writerGate = Mutex(())
    let wake = DispatchSemaphore(value: 0)
    let finished = DispatchSemaphore(value: 0)

    /// Starts the writer thread.
    public init(database: HistoryDatabase, options: Options = Options(), logger: Logger) {
        self.database = database
        self.options = options
        self.logger = logger
        let thread = Thread { [self] in
            baton_set_thread_name("baton-history")
            _ = baton_set_thread_nice(options.writerNice)
            runWriter()
            finished.signal()
        }
        thread.name = "baton-history"
        thread.start()
    }

    /// Hands over a batch of events; never blocks on SQLite.
    public func submit(_ events: inout [HistoryEvent]) {
        let count = events.count
        let full = state.withLock { state -> Bool in
            if state.pending.count + count > options.maxBacklog {
                let kept = events.filter { !$0.isRequestEvent }
                state.stats.droppedEvents += UInt64(count - kept.count)
                state.pending.append(contentsOf: kept)
            } else if state.pending.isEmpty {
                swap(&state.pending, &events)
            } else {
                state.pending.append(contentsOf: events)
            }
            state.stats.maxBacklog = max(state.stats.maxBacklog, state.pending.count)
            return state.pending.count >= options.maxBacklog / 4
        }
        events.removeAll(keepingCapacity: true)
        if full { wake.signal() }
    }

    /// Records one event (supervisor and worker events, from any thread).
    public func record(_ event: HistoryEvent) {
        var batch = [event]
        submit(&batch)
    }

    /// Writes what is pending, stops the thread, and returns the final counters.
    @discardableResult
    public func close() -> RecorderStats {
        state.withLock { $0.stopping = true }
        wake.signal()
        finished.wait()
        finished.signal()
        return stats
    }

    /// The counters so far.
    public var stats: RecorderStats { state.withLock { $0.stats } }

    private func runWriter() {
        var writer = HistoryWriter()
        var lastPrune = BatonClock.monotonic() &- UInt64(options.pruneIntervalSeconds * 1e9)
        var failuresLogged = RateLimiter(burst: 3, window: 60 * 1_000_000_000)
        while true {
            _ = wake.wait(timeout: .now() + .milliseconds(options.flushIntervalMilliseconds))
            let (batch, stopping) = writerGate.withLock { _ in
                state.withLock { state in
                    var batch = state.spare
                    swap(&batch, &state.pending)
                    return (batch, state.stopping)
                }
            }
            if !batch.isEmpty {
                let started = BatonClock.monotonic()
                do {
                    let rows = try database.write { db in try writer.apply(batch, in: db) }
                    let elapsed = BatonClock.monotonic() - started
                    state.withLock {
                        $0.stats.batches += 1
                        $0.stats.events += UInt64(batch.count)
                        $0.stats.requestRows += UInt64(rows)
                        $0.stats.writeNanoseconds += elapsed
                    }
                } catch {
                    state.withLock {
                        $0.stats.failedBatches += 1
                        $0.stats.lostEvents += UInt64(batch.count)
                    }
                    let (allowed, _) = failuresLogged.allow(now: BatonClock.monotonic())
                    if allowed {
                        logger.error("history write failed; clients are still served, these rows are lost",
                                     metadata: ["events": "\(batch.count)", "error": "\(error)"])
                    }
                }
                var spare = batch
                spare.removeAll(keepingCapacity: true)
                state.withLock { if $0.spare.capacity < spare.capacity { swap(&$0.spare, &spare) } }
            }
            if let retention = options.retention, BatonClock.monotonic() &- lastPrune >= UInt64(options.pruneIntervalSeconds * 1e9) {
                lastPrune = BatonClock.monotonic()
                prune(retention)
            }
            if stopping && state.withLock({ $0.pending.isEmpty }) { return }
        }
    }

    private func prune(_ retention: HistoryRetention) {
        var removed = 0
        do {
            while true {
                let count = try database.write { db in try retention.prune(db, nowNanoseconds: BatonClock.wall()) }
                removed += count
                if count == 0 { break }
            }
        } catch {
            logger.error("history retention failed", metadata: ["error": "\(error)"])
        }
        if removed > 0 {
            state.withLock { $0.stats.prunedRows += UInt64(removed) }
            logger.info("history retention removed old requests", metadata: ["rows": "\(removed)",
                                                                             "policy": "\(retention)"])
        }
    }
}

/// Counters of the history recorder.
public struct RecorderStats: Sendable, Equatable, Codable {
    /// Transactions written.
    public var batches: UInt64 = 0
    /// Events written.
    public var events: UInt64 = 0
    /// Request rows inserted or updated.
    public var requestRows: UInt64 = 0
    /// Request events dropped because the backlog was full.
    public var droppedEvents: UInt64 = 0
    /// Batches whose write failed.
    public var failedBatches: UInt64 = 0
    /// Events in failed batches.
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
