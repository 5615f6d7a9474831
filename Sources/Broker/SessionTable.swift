import BatonProtocol
import DequeModule

/// The broker's open sessions, indexed by key and by the worker that holds them.
///
/// Pure storage: it keeps its indexes and its count of held requests consistent, and ``BrokerCore`` decides
/// what happens to each session (docs/protocol.md, "Sessions" and 2.5).
struct SessionTable {
    private(set) var records: [SessionKey: SessionRecord] = [:]
    /// Keys of the sessions each worker holds.
    private(set) var byWorker: [WorkerID: Set<SessionKey>] = [:]
    /// Per worker, keys of sessions whose next request waits only for a free slot at that worker.
    private var waiting: [WorkerID: Deque<SessionKey>] = [:]
    /// Requests held behind a session's request in flight, over all sessions.
    private(set) var heldCount = 0

    /// Records: open sessions, and lost ones kept until their next request learns of the loss.
    var count: Int { records.count }
    /// Lost sessions kept for their one `session-lost` answer (they hold no worker and do not count as open).
    private(set) var lostCount = 0
    /// Keys in the order they were lost, to forget the oldest first at the bound (may hold keys forgotten since,
    /// which are skipped; compacted as it grows).
    private var lostOrder: Deque<SessionKey> = []

    /// Sessions a worker holds, or that are opening (their first request queued): what `--max-sessions` bounds.
    var liveCount: Int { records.count - lostCount }

    /// Whether any session exists.
    var isEmpty: Bool { records.isEmpty }

    subscript(key: SessionKey) -> SessionRecord? { records[key] }

    /// A position in the table; valid until a session is opened or removed.
    typealias Index = Dictionary<SessionKey, SessionRecord>.Index

    /// The position of a session, for in-place access with ``modify(at:_:)``.
    func index(_ key: SessionKey) -> Index? { records.index(forKey: key) }

    /// Reads and changes a session in place (no copy). Its worker and held requests must not change here
    /// (``place(_:on:)``, ``markLost(_:from:now:endRecorded:)``, ``hold(_:in:)`` and ``takeHeld(_:)`` keep the
    /// indexes right; checked in debug builds).
    mutating func modify<T>(at index: Index, _ change: (inout SessionRecord) -> T) -> T {
        #if DEBUG
        let worker = records.values[index].worker, held = records.values[index].held.count
        defer {
            assert(records.values[index].worker == worker && records.values[index].held.count == held,
                   "a session's worker and held requests change through the table's own methods")
        }
        #endif
        return change(&records.values[index])
    }

    /// Whether some session waits for a free slot at some worker.
    var hasWaiting: Bool { !waiting.isEmpty }

    /// Keys of the sessions `worker` holds.
    func keys(on worker: WorkerID) -> Set<SessionKey> { byWorker[worker] ?? [] }

    /// Sessions `worker` holds.
    func count(on worker: WorkerID) -> Int { byWorker[worker]?.count ?? 0 }

    /// Starts a session whose opening request `request` is queued.
    mutating func open(_ key: SessionKey, opener request: RequestID, now: Instant) {
        records[key] = SessionRecord(key: key, stage: .opening, busy: request, lastActivity: now, openedAt: now)
    }

    /// Changes a session in place. The worker, held requests and the wait list are changed only through the
    /// methods below, which keep the indexes right.
    mutating func update(_ key: SessionKey, _ change: (inout SessionRecord) -> Void) {
        if let index = records.index(forKey: key) { modify(at: index, change) }
    }

    /// The session's state is now at `worker`: its opener reached it, or the session moved there.
    mutating func place(_ key: SessionKey, on worker: WorkerID) {
        guard var record = records[key] else { return }
        if let old = record.worker { removeIndex(key, from: old) }
        record.stage = .active(worker: worker, ending: record.endRequested)
        byWorker[worker, default: []].insert(key)
        records[key] = record
    }

    /// The session's worker is gone, or its drain timed out: it holds no worker and waits for its next request
    /// (or its idle timeout, counted from now) to learn of the loss. `endRecorded`: its end is recorded now.
    mutating func markLost(_ key: SessionKey, from worker: WorkerID, now: Instant, endRecorded: Bool) {
        guard var record = records[key], !record.lost else { return }
        if let old = record.worker { removeIndex(key, from: old) }
        record.stage = .lost(from: worker, endRecorded: endRecorded)
        record.lastActivity = now
        records[key] = record
        lostCount += 1
        if lostOrder.count > 2 * lostCount + 64 { lostOrder.removeAll { records[$0]?.lost != true } }
        lostOrder.append(key)
    }

    /// The oldest lost session with no request in flight or held, to forget when too many are kept.
    mutating func oldestIdleLost() -> SessionKey? {
        var skipped: [SessionKey] = []
        defer { lostOrder.insert(contentsOf: skipped, at: 0) }
        while let key = lostOrder.popFirst() {
            guard let record = records[key], record.lost else { continue }
            if record.busy == nil && record.held.isEmpty { return key }
            skipped.append(key)
        }
        return nil
    }

    /// Holds a request behind the session's request in flight.
    mutating func hold(_ request: PendingRequest, in key: SessionKey) {
        records[key]?.held.append(request)
        heldCount += 1
    }

    /// Takes the session's oldest held request.
    mutating func takeHeld(_ key: SessionKey) -> PendingRequest? {
        guard let request = records[key]?.held.popFirst() else { return nil }
        heldCount -= 1
        return request
    }

    /// Removes a session; returns it (with the requests it still held).
    @discardableResult
    mutating func remove(_ key: SessionKey) -> SessionRecord? {
        guard let record = records.removeValue(forKey: key) else { return nil }
        if let worker = record.worker { removeIndex(key, from: worker) }
        if record.lost { lostCount -= 1 }
        heldCount -= record.held.count
        if records.isEmpty {
            waiting.removeAll()
            lostOrder.removeAll()
        }
        return record
    }

    /// Notes that the session's next request waits for a free slot at `worker` (once: the list holds each
    /// session at most once, so it is bounded by the sessions open).
    mutating func waitForCapacity(_ key: SessionKey, at worker: WorkerID) {
        guard let record = records[key], record.waitingAt != worker else { return }
        records[key]?.waitingAt = worker
        waiting[worker, default: []].append(key)
    }

    /// The next session waiting for a slot at `worker` that can still use one.
    mutating func nextWaiting(at worker: WorkerID) -> SessionKey? {
        while let key = waiting[worker]?.popFirst() {
            if records[key]?.waitingAt == worker { records[key]?.waitingAt = nil }
            if let record = records[key], record.worker == worker, record.canDispatch, !record.held.isEmpty {
                return key
            }
        }
        waiting[worker] = nil
        return nil
    }

    /// Forgets the wait list of a worker that is gone.
    mutating func forgetWaiting(at worker: WorkerID) {
        for key in waiting.removeValue(forKey: worker) ?? [] where records[key]?.waitingAt == worker {
            records[key]?.waitingAt = nil
        }
    }

    /// Entries in the workers' wait lists (each session at most once).
    var waitingCount: Int { waiting.values.reduce(0) { $0 + $1.count } }

    private mutating func removeIndex(_ key: SessionKey, from worker: WorkerID) {
        byWorker[worker]?.remove(key)
        if byWorker[worker]?.isEmpty == true { byWorker[worker] = nil }
    }
}
