import BatonProtocol

/// The sessions of one worker being drained toward its successor, until every move has settled.
struct SessionMoves: Sendable {
    /// The worker the sessions move to.
    let successor: WorkerID
    /// Moves not settled yet.
    var pending: Int
    /// Sessions that moved.
    var moved = 0
    /// Sessions whose move failed (they stayed on the old worker).
    var failed = 0
    /// Sessions lost with the old worker, which ended before they moved.
    var lost = 0
}

/// Handoff: moving a session's state from a worker being replaced to its successor (docs/protocol.md 2.5).
extension BrokerCore {
    /// Stops giving a worker new requests, as ``drainWorker(_:into:)``, and deals with its sessions: they
    /// move to `successor` when both workers declared `handoff`; otherwise they stay until they end or
    /// ``BrokerConfiguration/sessionDrainTimeout`` passes. ``WorkerEvent/drained(worker:)`` comes once the
    /// worker holds no request and no session.
    public mutating func drainWorker(_ id: WorkerID, successor: WorkerID?, now: Instant, into out: inout [BrokerAction]) {
        let keys = sessions.keys(on: id)
        if !keys.isEmpty, let worker = workers[id], !worker.isDraining {
            if let successor, successor != id, worker.canHandOff, workers[successor]?.canHandOff == true {
                moves[id] = SessionMoves(successor: successor, pending: keys.count)
                for key in keys {
                    sessions.update(key) { $0.beginMove(to: successor, now: now) }
                    if sessions[key]?.busy == nil { beginExport(key, from: id, now: now, into: &out) }
                }
            } else {
                let deadline = now + configuration.sessionDrainTimeout
                for key in keys { sessions.update(key) { $0.beginDrain(until: deadline) } }
                out.append(.log(.sessionsDraining(worker: id, sessions: keys.count)))
            }
        }
        drainWorker(id, into: &out)
    }

    /// Undoes a drain (a reload was rolled back while this worker was being drained, so it stays): the
    /// worker takes requests again, its sessions stay with it (moves under way are abandoned, drain deadlines
    /// dropped).
    public mutating func resumeWorker(_ id: WorkerID, now: Instant, into out: inout [BrokerAction]) {
        guard let index = workers.index(forKey: id), workers.values[index].isDraining else { return }
        workers.update(at: index) { $0.isDraining = false }
        noteIdleWorkers()
        for key in sessions.keys(on: id) {
            if let move = sessions[key]?.move {
                abandonMove(key, move, reason: "the reload was rolled back", keep: false, now: now, into: &out)
                releaseHeld(key, now: now, into: &out)
            }
            sessions.update(key) { $0.endDrain() }
        }
        moves[id] = nil
        serveWaitingSessions(at: id, now: now, into: &out)
        pump(now: now, into: &out)
    }

    /// Asks the old worker for the session's state: `[0x05][key]`.
    mutating func beginExport(_ key: SessionKey, from worker: WorkerID, now: Instant, into out: inout [BrokerAction]) {
        let deadline = now + configuration.handoffTimeout
        sessions.update(key) {
            $0.changeMove {
                $0.phase = .exporting
                $0.deadline = deadline
            }
        }
        out.append(.send(worker: worker, frames: [WireProtocol.exportByte, key.bytes]))
    }

    /// A worker's END, EXPORT answer or IMPORT answer.
    mutating func sessionMessage(_ message: WorkerSessionMessage, from id: WorkerID, now: Instant,
                                 into out: inout [BrokerAction]) {
        switch message {
        case .end(let key):
            workerEndedSession(id, key: key, now: now, into: &out)
        case .exported(let key, let ok, let data):
            exportAnswered(by: id, key: key, ok: ok, data: data, now: now, into: &out)
        case .imported(let key, let ok, let text):
            importAnswered(by: id, key: key, ok: ok, text: text, now: now, into: &out)
        }
    }

    private mutating func exportAnswered(by worker: WorkerID, key: SessionKey, ok: Bool, data: [UInt8], now: Instant,
                                         into out: inout [BrokerAction]) {
        guard let record = sessions[key], record.worker == worker, let move = record.move, move.phase == .exporting
        else {
            stats.staleSessionMessages += 1
            return
        }
        guard ok else {
            return abandonMove(key, move, reason: "EXPORT failed: \(String(decoding: data, as: UTF8.self))",
                               now: now, into: &out)
        }
        let deadline = now + configuration.handoffTimeout
        sessions.update(key) {
            $0.changeMove {
                $0.phase = .importing
                $0.deadline = deadline
            }
        }
        out.append(.send(worker: move.successor, frames: [WireProtocol.importByte, key.bytes, data]))
    }

    private mutating func importAnswered(by worker: WorkerID, key: SessionKey, ok: Bool, text: [UInt8], now: Instant,
                                         into out: inout [BrokerAction]) {
        guard let record = sessions[key], let old = record.worker, let move = record.move,
              move.successor == worker, move.phase == .importing
        else {
            stats.staleSessionMessages += 1
            return
        }
        guard ok else {
            return abandonMove(key, move, reason: "IMPORT failed: \(String(decoding: text, as: UTF8.self))",
                               now: now, into: &out)
        }
        sessions.place(key, on: worker)
        sessions.update(key) { $0.lastActivity = now }
        sendEnd(key, to: old, into: &out)
        stats.sessionsMoved += 1
        if configuration.recordHistory {
            out.append(.record(.sessionMoved(key: key, from: old, to: worker, pause: now.since(move.since), at: now)))
        }
        metrics.handoffPaused(now.since(move.since))
        settleMove(of: old, moved: true, into: &out)
        releaseHeld(key, now: now, into: &out)
        maybeDrained(old, into: &out)
    }

    /// A move failed: the session stays on its worker, which still has its state (EXPORT does not remove it),
    /// and is drained there as without handoff. A successor that may have imported it is told END.
    /// `keep: false` (the old worker is gone, or the session ended) only settles the move; `workerLost` counts
    /// it as lost with the old worker rather than failed.
    mutating func abandonMove(_ key: SessionKey, _ move: SessionMove, reason: String, keep: Bool = true,
                              workerLost: Bool = false, now: Instant, into out: inout [BrokerAction]) {
        guard let record = sessions[key], let old = record.worker else { return }
        if move.phase == .importing { sendEnd(key, to: move.successor, into: &out) }
        let deadline = keep ? now + configuration.sessionDrainTimeout : nil
        sessions.update(key) { $0.endMove(drainingUntil: deadline) }
        if keep {
            // Only a move that failed leaves the session on its worker; one abandoned because the old worker
            // or the session is gone is counted with those.
            stats.handoffsFailed += 1
            out.append(.log(.handoffFailed(worker: old, reason: reason)))
        }
        if configuration.recordHistory {
            out.append(.record(.sessionHandoffFailed(key: key, from: old, to: move.successor, reason: reason, at: now)))
        }
        settleMove(of: old, moved: false, lost: workerLost, into: &out)
        if keep { releaseHeld(key, now: now, into: &out) }
    }

    /// The successor of some moves was lost: those sessions stay where they are.
    mutating func abandonMoves(to successor: WorkerID, now: Instant, into out: inout [BrokerAction]) {
        for (old, report) in moves where report.successor == successor {
            for key in sessions.keys(on: old) {
                if let move = sessions[key]?.move, move.successor == successor {
                    abandonMove(key, move, reason: "the successor was lost", now: now, into: &out)
                }
            }
        }
    }

    /// One move of `old`'s sessions settled; when the last one has, the supervisor hears how many moved.
    private mutating func settleMove(of old: WorkerID, moved: Bool, lost: Bool = false, into out: inout [BrokerAction]) {
        guard var report = moves[old] else { return }
        report.pending -= 1
        if moved { report.moved += 1 } else if lost { report.lost += 1 } else { report.failed += 1 }
        if report.pending > 0 {
            moves[old] = report
            return
        }
        moves[old] = nil
        out.append(.worker(.sessionsMoved(worker: old, successor: report.successor, moved: report.moved,
                                          failed: report.failed, lost: report.lost)))
    }

    /// Reports a draining worker drained once it holds no request and no session.
    mutating func maybeDrained(_ id: WorkerID, into out: inout [BrokerAction]) {
        if let index = workers.index(forKey: id) { reportIfDrained(at: index, into: &out) }
    }
}
