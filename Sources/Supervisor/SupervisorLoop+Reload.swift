import BatonProtocol
import Broker
import CBatonSys
import Foundation
import Logging

extension SupervisorLoop {
    /// Creates the next generation and starts rolling to it; returns why not, if it cannot.
    mutating func startReload(command arguments: [String]?, options reloadOptions: ReloadOptions,
                              requester: ControlServer.Peer?) -> String? {
        if let refusal = pool.reloadRefusal { return "\(refusal)" }
        let current = generations.command(of: pool.currentGeneration) ?? options.command
        let now = Instant.now()
        let command: WorkerCommand
        do {
            if let arguments {
                // An empty list is an empty command, refused as such: only nil means the current command.
                command = try WorkerCommand.resolve(arguments.first ?? "", arguments: Array(arguments.dropFirst()))
            } else {
                command = try WorkerCommand.resolve(current.executable, arguments: current.arguments)
            }
        } catch {
            // The generation is recorded, and failed, so history shows the attempt.
            let generation = generations.next()
            let executable = arguments.map { $0.first ?? "" } ?? current.executable
            record(.generationCreated(id: generation, executable: executable,
                                      arguments: arguments.map { Array($0.dropFirst()) } ?? current.arguments,
                                      sha256: "", at: now))
            record(.generationState(id: generation, state: .failed, reason: "\(error)", at: now))
            return "generation \(generation) failed: \(error)"
        }
        let generation = generations.next()
        generations.register(generation, command: command)
        record(.generationCreated(id: generation, executable: command.executable, arguments: command.arguments,
                                  sha256: "", at: now))
        recordDigest(of: command.executable, generation: generation)
        record(.supervisor(kind: .reloadStarted, slot: nil, workerID: nil, generation: generation,
                           detail: command.display, at: now))
        reloadRequester = requester
        _ = baton_sd_notify("RELOADING=1")
        metrics.reloadStarted(now: now)
        do {
            perform(try pool.beginReload(to: generation, options: reloadOptions, now: now))
        } catch {
            reloadRequester = nil
            return "\(error)"
        }
        return nil
    }

    /// Counts a refused reload and logs it, at most 20 lines per 10 seconds (``reloadRefusalLog``); the caller
    /// answers whoever asked.
    mutating func reloadRefused(_ reason: String) {
        metrics.reloadRefused()
        let (allowed, suppressed) = reloadRefusalLog.allow(now: Instant.now())
        guard allowed else { return }
        var metadata: Logger.Metadata = ["reason": "\(reason)"]
        if suppressed > 0 { metadata["not_logged"] = "\(suppressed)" }
        logger.error("reload refused", metadata: metadata)
    }

    /// Hashes the generation's executable on another thread (a large binary takes a while) and records the
    /// digest when it is known; the supervisor thread goes on at once.
    private func recordDigest(of executable: String, generation: GenerationID) {
        guard let digest = options.sha256, let history = options.history else { return }
        DispatchQueue.global(qos: .utility).async {
            guard let sha256 = digest(executable) else { return }
            var events: [HistoryEvent] = [.generationDigest(id: generation, sha256: sha256)]
            history.submit(&events)
        }
    }

    mutating func finishReload(_ outcome: ReloadOutcome) {
        let now = Instant.now()
        let (succeeded, generation, previous) = (outcome.succeeded, outcome.generation, outcome.previous)
        let message = outcome.description
        metrics.reloadFinished(succeeded: succeeded, now: now)
        if succeeded {
            record(.generationState(id: generation, state: .active, reason: nil, at: now))
            if previous != generation {
                record(.generationState(id: previous, state: .retired, reason: "replaced by generation \(generation)",
                                        at: now))
            }
            logger.info("reload finished: \(message)")
        } else {
            record(.generationState(id: generation, state: .failed, reason: message, at: now))
            logger.error("reload failed: \(message)")
        }
        record(.supervisor(kind: succeeded ? .reloadFinished : .reloadRolledBack, slot: nil, workerID: nil,
                           generation: generation, detail: message, at: now))
        let reply = ControlReply.finished(outcome)
        // The final reply waits until these records are committed, so that `baton generations` run right after
        // `baton reload` reads them; the barrier calls back on the writer thread, and the reply goes out here.
        if let requester = reloadRequester, let history = options.history {
            history.flush { [server] in server.send(.controlReply(reply, to: requester)) }
        } else {
            tellRequester(reply)
        }
        reloadRequester = nil
        _ = baton_sd_notify("READY=1")
    }

    /// What the running reload waits for, with the wall-clock deadline and what the draining worker still holds.
    func reloadWait() -> ReloadWait? {
        guard let wait = pool.reloadWait(now: Instant.now()) else { return nil }
        if wait.step == .drain,
           let counted = workerStatus(try? server.broker.workersBlocking()).slots.lazy.compactMap(\.reloadWait).first {
            return counted
        }
        return Self.stamped(wait)
    }

    /// The wait with its wall-clock deadline.
    static func stamped(_ wait: ReloadWait) -> ReloadWait {
        var wait = wait
        wait.until = wait.secondsLeft.map { Date().timeIntervalSince1970 + $0 }
        return wait
    }

    /// While a reload waits, tells its caller what for, every ``waitReportInterval``: the caller sees progress
    /// and knows the supervisor is still there.
    mutating func reportReloadWait() {
        let now = Instant.now()
        guard reloadRequester != nil, now.since(lastWaitReport) >= Self.waitReportInterval, let wait = reloadWait() else {
            return
        }
        lastWaitReport = now
        tellRequester(.progress(.waiting(wait), wait: wait))
    }

    /// Sends a reply to the peer waiting for the reload, if any.
    func tellRequester(_ reply: ControlReply) {
        guard let requester = reloadRequester else { return }
        control?.send(reply, to: requester)
    }
}
