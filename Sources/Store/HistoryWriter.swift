import BatonProtocol
import Foundation
import GRDB

/// Turns batches of ``HistoryEvent``s into rows, in one transaction per batch, on the recorder's thread.
///
/// Request events are coalesced per request: a request received, dispatched and answered within one batch
/// becomes one INSERT; one that is still open at the end of a batch is written as it stands (queued or in
/// flight) and updated by a later batch. A request's session key (``HistoryEvent/requestSession(id:key:)``) joins
/// its row whichever batch it comes in; session events are written in order (``applySessionEvent(_:wall:in:)``).
struct HistoryWriter {
    /// Received time of requests not yet answered, by request number, to compute wait and total times later.
    var openRequests: [UInt64: Instant] = [:]
    /// Generation of each known worker (nil for external workers).
    var workerGenerations: [String: Int?] = [:]

    struct RequestRow {
        let id: UInt64
        var isNew = false
        var client = ""
        var bytes = 0
        var received: Instant?
        /// The new status; nil leaves a written row's status as it is (an event that only adds its session).
        var status: RequestStatus?
        var session: SessionKey?
        var worker: String?
        var attempts = 0
        var dispatched: Instant?
        var finished: Instant?
        var replyBytes: Int?
        var error: String?
    }

    var formatter = TimestampFormatter()
    /// Hex of client routing ids, and names of worker routing ids, seen lately: clients and workers send many
    /// requests each, so each is formatted once (both are emptied when they grow past ``namesKept``).
    var clientHex: [[UInt8]: String] = [:]
    var workerNames: [[UInt8]: String] = [:]
    static let namesKept = 4_096

    /// Writes one batch; returns the number of request rows written.
    mutating func apply(_ events: [HistoryEvent], in db: Database) throws -> Int {
        let offset = BatonClock.wall() - Int64(bitPattern: Instant.now().nanoseconds)
        func wall(_ instant: Instant) -> Int64 { offset + Int64(bitPattern: instant.nanoseconds) }
        var rows: [RequestRow] = []
        rows.reserveCapacity(events.count / 2)
        var index: [UInt64: Int] = [:]
        index.reserveCapacity(events.count / 2)
        func row(_ request: RequestID) -> Int {
            let id = request.value
            if let existing = index[id] { return existing }
            rows.append(RequestRow(id: id))
            index[id] = rows.count - 1
            return rows.count - 1
        }
        for event in events {
            switch event {
            case .requestReceived(let id, let client, let bytes, let at):
                let i = row(id)
                rows[i].isNew = true
                rows[i].client = Self.name(of: client.bytes, in: &clientHex) { ClientID(routingID: $0).description }
                rows[i].bytes = bytes
                rows[i].received = at
            case .requestDispatched(let id, let worker, let attempt, let at):
                let i = row(id)
                rows[i].status = .inFlight
                rows[i].worker = Self.name(of: worker.bytes, in: &workerNames) { WorkerID(routingID: $0).name }
                rows[i].attempts = attempt
                rows[i].dispatched = at
            case .requestRequeued(let id, _):
                rows[row(id)].status = .queued
            case .requestSession(let id, let key):
                rows[row(id)].session = key
            case .sessionOpened, .sessionMoved, .sessionHandoffFailed, .sessionEnded:
                try applySessionEvent(event, wall: wall, in: db)
            case .requestReplied(let id, let bytes, let at):
                let i = row(id)
                rows[i].status = .replied
                rows[i].finished = at
                rows[i].replyBytes = bytes
            case .requestFailed(let id, let code, let at):
                let i = row(id)
                rows[i].status = .failed
                rows[i].finished = at
                rows[i].error = code.rawValue
            case .requestReplyDropped(let id, _):
                // Answered (its times stay), but the answer never reached the client.
                let i = row(id)
                rows[i].status = .failed
                rows[i].error = HistoryEvent.replyDroppedError
            case .workerSpawned, .workerReady, .workerLost, .workerExited, .generationCreated, .generationDigest,
                 .generationState, .supervisor:
                try applyWorkerEvent(event, wall: wall, in: db)
            }
        }
        let insert = RowBinder(try db.cachedStatement(sql: """
            INSERT OR IGNORE INTO request (id, client, worker_id, generation, attempts, status, error, received_at,
                dispatched_at, replied_at, wait_us, total_us, request_bytes, reply_bytes, session)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """), in: db)
        let update = RowBinder(try db.cachedStatement(sql: """
            UPDATE request SET status = COALESCE(?, status), worker_id = COALESCE(?, worker_id), generation = COALESCE(?, generation),
                attempts = MAX(attempts, ?), error = COALESCE(?, error), dispatched_at = COALESCE(?, dispatched_at),
                replied_at = COALESCE(?, replied_at), wait_us = COALESCE(?, wait_us),
                total_us = COALESCE(?, total_us), reply_bytes = COALESCE(?, reply_bytes),
                session = COALESCE(?, session)
            WHERE id = ?
            """), in: db)
        for row in rows {
            let received = row.received ?? openRequests[row.id]
            if row.finished != nil {
                if !row.isNew { openRequests[row.id] = nil }
            } else if row.isNew, let received {
                openRequests[row.id] = received
            }
            let worker = row.worker.flatMap { workerGenerations[$0] != nil ? $0 : nil }
            let generation = worker.flatMap { workerGenerations[$0] ?? nil }
            let wait = row.dispatched.flatMap { dispatched in received.map { dispatched.since($0).wholeMicroseconds } }
            let total = row.finished.flatMap { finished in received.map { finished.since($0).wholeMicroseconds } }
            let dispatchedAt = row.dispatched.map(wall)
            let finishedAt = row.finished.map(wall)
            if row.isNew {
                insert.reset()
                insert.bind(1, Int64(bitPattern: row.id))
                insert.bind(2, row.client)
                insert.bind(3, worker)
                insert.bind(4, generation)
                insert.bind(5, row.attempts)
                insert.bind(6, (row.status ?? .queued).rawValue)
                insert.bind(7, row.error)
                insert.bind(8, time: wall(row.received ?? .zero), with: &formatter)
                insert.bind(9, time: dispatchedAt, with: &formatter)
                insert.bind(10, time: finishedAt, with: &formatter)
                insert.bind(11, wait)
                insert.bind(12, total)
                insert.bind(13, row.bytes)
                insert.bind(14, row.replyBytes)
                insert.bind(15, row.session)
                try insert.step()
            } else {
                update.reset()
                update.bind(1, row.status?.rawValue)
                update.bind(2, worker)
                update.bind(3, generation)
                update.bind(4, row.attempts)
                update.bind(5, row.error)
                update.bind(6, time: dispatchedAt, with: &formatter)
                update.bind(7, time: finishedAt, with: &formatter)
                update.bind(8, wait)
                update.bind(9, total)
                update.bind(10, row.replyBytes)
                update.bind(11, row.session)
                update.bind(12, Int64(bitPattern: row.id))
                try update.step()
            }
        }
        return rows.count
    }

    /// The text for a routing id, formatted once and then found in `cache`.
    private static func name(of id: [UInt8], in cache: inout [[UInt8]: String], _ format: ([UInt8]) -> String)
        -> String
    {
        if let name = cache[id] { return name }
        if cache.count >= namesKept { cache.removeAll(keepingCapacity: true) }
        let name = format(id)
        cache[id] = name
        return name
    }

    private mutating func applyWorkerEvent(_ event: HistoryEvent, wall: (Instant) -> Int64, in db: Database) throws {
        switch event {
        case .workerSpawned(let workerID, let slot, let pid, let generation, let at):
            workerGenerations[workerID.name] = .some(generation.number)
            try db.execute(sql: """
                INSERT INTO worker (worker_id, slot, generation, pid, spawned_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(worker_id) DO UPDATE SET slot = excluded.slot, generation = excluded.generation,
                    pid = excluded.pid, spawned_at = excluded.spawned_at
                """, arguments: [workerID.name, slot, generation.number, pid, Timestamp.iso(nanoseconds: wall(at))])
        case .workerReady(let workerID, let at):
            if workerGenerations[workerID.name] == nil { workerGenerations[workerID.name] = .some(nil) }
            try db.execute(sql: """
                INSERT INTO worker (worker_id, ready_at) VALUES (?, ?)
                ON CONFLICT(worker_id) DO UPDATE SET ready_at = excluded.ready_at, exited_at = NULL, exit_reason = NULL
                """, arguments: [workerID.name, Timestamp.iso(nanoseconds: wall(at))])
        case .workerLost(let workerID, let reason, let at):
            try db.execute(sql: """
                UPDATE worker SET exited_at = ?, exit_reason = ? WHERE worker_id = ? AND exited_at IS NULL
                """, arguments: [Timestamp.iso(nanoseconds: wall(at)), reason.exitReason.rawValue, workerID.name])
        case .workerExited(let workerID, let code, let signal, let reason, let at):
            try db.execute(sql: """
                UPDATE worker SET exited_at = ?, exit_code = ?, exit_signal = ?, exit_reason = ? WHERE worker_id = ?
                """, arguments: [Timestamp.iso(nanoseconds: wall(at)), code, signal, reason.rawValue, workerID.name])
        case .generationCreated(let id, let executable, let arguments, let sha256, let at):
            let json = String(decoding: try JSONEncoder().encode(arguments), as: UTF8.self)
            try db.execute(sql: """
                INSERT OR IGNORE INTO generation (id, executable, arguments, sha256, created_at, state)
                VALUES (?, ?, ?, ?, ?, 'rolling')
                """, arguments: [id.number, executable, json, sha256, Timestamp.iso(nanoseconds: wall(at))])
        case .generationDigest(let id, let sha256):
            try db.execute(sql: "UPDATE generation SET sha256 = ? WHERE id = ?", arguments: [sha256, id.number])
        case .generationState(let id, let state, let reason, _):
            try db.execute(sql: "UPDATE generation SET state = ?, reason = ? WHERE id = ?",
                           arguments: [state.rawValue, reason, id.number])
        case .supervisor(let kind, let slot, let workerID, let generation, let detail, let at):
            try db.execute(sql: """
                INSERT INTO event (at, kind, slot, worker_id, generation, detail) VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [Timestamp.iso(nanoseconds: wall(at)), kind.rawValue, slot, workerID?.name, generation?.number, detail])
        case .requestReceived, .requestDispatched, .requestRequeued, .requestReplied, .requestFailed,
             .requestReplyDropped, .requestSession, .sessionOpened, .sessionMoved, .sessionHandoffFailed, .sessionEnded:
            break
        }
    }
}
