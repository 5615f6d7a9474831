import BatonProtocol
import Foundation
import GRDB
import Logging
import ServiceThread
import Synchronization

/// The body of the history writer thread (``HistoryRecorder``): opens the database when it could not be opened
/// at start, writes batches, keeps and retries what failed, prunes, measures, and at the stop closes what is
/// still open. Everything here runs on that one thread.
struct RecorderLoop {
    let recorder: HistoryRecorder
    var database: HistoryDatabase?
    var writer = HistoryWriter()
    /// When the next open or write may be tried after a failure, and the wait after that one.
    var retryAt = Instant.zero
    var retryDelay: TimeSpan
    /// When retention last ran; nil: not yet, so it runs after the first write.
    var lastPrune: Instant?
    /// A retention pass stopped at its time budget with rows left to remove; it goes on after the next batch.
    var pruneUnfinished = false
    var prunedInPass = 0
    /// Request rows written since the last retention pass: a pass removes at least as many, when the policy
    /// asks for it, so that a busy writer cannot outgrow the bound.
    var rowsSincePrune = 0
    /// When the file's size was last measured; nil: not since the last retention pass.
    var lastSize: Instant?
    var failuresLogged = RateLimiter(burst: 3, window: .seconds(60))
    var lastProblem: String?

    init(recorder: HistoryRecorder, database: HistoryDatabase?) {
        self.recorder = recorder
        self.database = database
        retryDelay = Self.span(recorder.options.retryInitialSeconds)
        lastProblem = recorder.state.withLock { $0.stats.problem }
    }

    var options: HistoryRecorder.Options { recorder.options }
    var logger: Logger { recorder.logger }

    mutating func run() {
        while true {
            recorder.thread.waitForWake(timeoutMilliseconds: Int32(clamping: options.flushIntervalMilliseconds))
            recorder.thread.clearWake()
            let now = Instant.now()
            let stopping = recorder.state.withLock { $0.stopping }
            if database == nil && (now >= retryAt || stopping) { open(now: now) }
            guard database != nil && (now >= retryAt || stopping) else {
                // Degraded: events wait (the backlog bounds them); a flush barrier does not wait for a database
                // that cannot be written.
                runBarriers(takeBarriers())
                if stopping { return giveUp() }
                continue
            }
            let (batch, barriers) = take()
            let written = batch.isEmpty || write(batch, now: now)
            runBarriers(barriers)
            if written && !stopping { upkeep(now: Instant.now()) }
            if stopping {
                if !written { return giveUp() }
                if recorder.state.withLock({ $0.pending.isEmpty }) { return finish() }
            }
        }
    }

    /// Takes every pending event and the barriers registered after them.
    private func take() -> ([HistoryEvent], [@Sendable () -> Void]) {
        recorder.writerGate.withLock { _ in
            recorder.state.withLock { state in
                var batch = state.spare
                swap(&batch, &state.pending)
                state.inWriter = batch.count
                defer { state.barriers = [] }
                return (batch, state.barriers)
            }
        }
    }

    private func takeBarriers() -> [@Sendable () -> Void] {
        recorder.state.withLock { state in
            defer { state.barriers = [] }
            return state.barriers
        }
    }

    private func runBarriers(_ barriers: [@Sendable () -> Void]) {
        for barrier in barriers { barrier() }
    }

    /// Writes one batch in one transaction; false when it failed and was kept for a retry.
    private mutating func write(_ batch: [HistoryEvent], now: Instant) -> Bool {
        guard let database else { return false }
        let before = writer
        do {
            let rows = try database.write { db in try writer.apply(batch, in: db) }
            let elapsed = Instant.now().since(now).nanoseconds
            recorder.state.withLock {
                $0.stats.batches += 1
                $0.stats.events += UInt64(batch.count)
                $0.stats.requestRows += UInt64(rows)
                $0.stats.writeNanoseconds += elapsed
            }
            rowsSincePrune += rows
            recovered("history writes succeed again; recording resumes")
            recycle(batch)
            return true
        } catch {
            // The writer's memory of open requests must match what the file holds.
            writer = before
            if error.isTransient {
                // One update, so a reader of the stats never sees the failure counted but not its state.
                degraded("cannot write \(error) — \(error.advice)", now: now) { state in
                    state.stats.failedBatches += 1
                    state.pending.insert(contentsOf: batch, at: 0)
                    state.inWriter = 0
                }
                if failuresLogged.allow(now: now).allowed {
                    logger.error("history write failed; clients are still served, the events wait and are retried",
                                 metadata: ["events": "\(batch.count)", "error": "\(error)",
                                            "retry_in_ms": "\(retryAt.since(now).milliseconds)"])
                }
                return false
            }
            recorder.state.withLock {
                $0.stats.failedBatches += 1
                $0.stats.lostEvents += UInt64(batch.count)
            }
            if failuresLogged.allow(now: now).allowed {
                logger.error("history write failed; clients are still served, these rows are lost",
                             metadata: ["events": "\(batch.count)", "error": "\(error)"])
            }
            recycle(batch)
            return true
        }
    }

    /// Hands the batch's storage back for the next one.
    private func recycle(_ batch: [HistoryEvent]) {
        var spare = batch
        spare.removeAll(keepingCapacity: true)
        recorder.state.withLock { state in
            state.inWriter = 0
            if state.spare.capacity < spare.capacity { swap(&state.spare, &spare) }
        }
    }

    /// Tries to open the database (the recorder started without one).
    private mutating func open(now: Instant) {
        guard let opener = recorder.opener else { return }
        do {
            database = try opener()
            recovered("history database opened; recording resumes")
        } catch {
            let problem = HistoryStartup.problem(opening: error)
            if problem != lastProblem {
                logger.error("history is still degraded: \(problem)")
            }
            degraded(problem, now: now)
        }
    }

    /// Marks history degraded by `problem`, together with `alongside`'s change to the shared state.
    private mutating func degraded(_ problem: String, now: Instant,
                                   alongside: (inout HistoryRecorder.State) -> Void = { _ in }) {
        lastProblem = problem
        recorder.state.withLock {
            alongside(&$0)
            $0.stats.state = .degraded
            $0.stats.problem = problem
        }
        retryAt = now + retryDelay
        retryDelay = min(retryDelay * 2, Self.span(options.retryMaxSeconds))
    }

    private mutating func recovered(_ message: Logger.Message) {
        guard lastProblem != nil else { return }
        lastProblem = nil
        retryDelay = Self.span(options.retryInitialSeconds)
        retryAt = .zero
        let waiting = recorder.state.withLock { state in
            state.stats.state = .ok
            state.stats.problem = nil
            return state.pending.count + state.inWriter
        }
        logger.notice(message, metadata: ["events_waiting": "\(waiting)", "path": "\(database?.path ?? "")"])
    }

    /// Retention and size, after a successful write.
    private mutating func upkeep(now: Instant) {
        guard let database else { return }
        if let retention = options.retention, !retention.keepsEverything,
           pruneUnfinished || lastPrune.map({ now.since($0) >= Self.span(options.pruneIntervalSeconds) }) ?? true {
            lastPrune = now
            prune(retention, in: database)
            lastSize = nil
        }
        if lastSize.map({ now.since($0) >= Self.span(options.sizeIntervalSeconds) }) ?? true,
           let size = try? database.size() {
            lastSize = now
            recorder.state.withLock {
                $0.stats.fileBytes = size.fileBytes
                $0.stats.usedBytes = size.usedBytes
            }
            // Over the size bound: prune on the next turn rather than at the next minute.
            if let maxBytes = options.retention?.maxBytes, size.usedBytes > maxBytes { pruneUnfinished = true }
        }
    }

    /// Deletes request rows beyond the policy, a chunk per transaction, for a quarter of a second or until it
    /// has removed as many rows as were written since the last pass, whichever is later; the rest waits for the
    /// next turn, so that batches keep being written and the bound holds however busy the writer is.
    private mutating func prune(_ retention: HistoryRetention, in database: HistoryDatabase) {
        let started = Instant.now()
        let target = rowsSincePrune
        rowsSincePrune = 0
        pruneUnfinished = false
        var removed = 0
        do {
            while true {
                let count = try database.write { db in try retention.prune(db, nowNanoseconds: BatonClock.wall()) }
                prunedInPass += count
                removed += count
                recorder.state.withLock { $0.stats.prunedRows += UInt64(count) }
                if count == 0 { break }
                if Instant.now().since(started) > .milliseconds(250) && removed >= target {
                    pruneUnfinished = true
                    return
                }
            }
        } catch {
            logger.error("history retention failed", metadata: ["error": "\(error)"])
        }
        if prunedInPass > 0 {
            logger.info("history retention removed old requests", metadata: ["rows": "\(prunedInPass)",
                                                                             "policy": "\(retention)"])
        }
        prunedInPass = 0
    }

    /// The stop, once everything is written: closes the request and session rows still open.
    private mutating func finish() {
        if let database {
            do {
                let closed = try database.closeOpenRequests()
                if closed > 0 {
                    logger.notice("request rows still open at the stop are closed as abandoned",
                                  metadata: ["requests": "\(closed)"])
                }
                let sessions = try database.closeOpenSessions()
                if sessions > 0 {
                    logger.notice("session rows still open at the stop are ended as shutdown",
                                  metadata: ["sessions": "\(sessions)"])
                }
            } catch {
                logger.error("could not close the request rows still open at the stop; the next start closes them",
                             metadata: ["error": "\(error)"])
            }
        }
        end()
    }

    /// The stop without a writable database: what waits is lost, and counted.
    private mutating func giveUp() {
        let lost = recorder.state.withLock { state in
            defer {
                state.pending = []
                state.inWriter = 0
            }
            state.stats.lostEvents += UInt64(state.pending.count)
            return state.pending.count
        }
        logger.error("history could not be written before the stop; the next start closes its open rows as abandoned",
                     metadata: ["events_lost": "\(lost)", "problem": "\(lastProblem ?? "")"])
        end()
    }

    private func end() {
        let barriers = recorder.state.withLock { state in
            state.ended = true
            defer { state.barriers = [] }
            return state.barriers
        }
        runBarriers(barriers)
    }

    /// An option's seconds as a span (options are checked when they are set; anything else counts as none).
    static func span(_ seconds: Double) -> TimeSpan { TimeSpan(seconds: seconds) ?? .zero }
}
