import BatonProtocol
import Broker
import CBatonSys
import Foundation
import Logging

extension SupervisorLoop {
    mutating func perform(_ actions: [PoolAction]) {
        var followUps: [PoolAction] = []
        for action in actions {
            switch action {
            case .spawn(let slot, let workerID, let generation):
                followUps += spawn(slot: slot, workerID: workerID, generation: generation)
            case .signal(let pid, let signal):
                launcher.signal(pid, signal)
            case .workerGone(let workerID, let reason):
                server.broker.workerProcessEnded(workerID, reason: reason)
            case .slotFailed(let slot, let reason):
                logger.error("slot failed: no more restarts", metadata: ["slot": "\(slot)", "reason": "\(reason)"])
                record(.supervisor(kind: .slotFailed, slot: slot, workerID: nil, generation: nil, detail: reason,
                                   at: Instant.now()))
            case .drain(let workerID, let successor):
                server.broker.drainWorker(workerID, successor: successor)
            case .resume(let workerID):
                server.broker.resumeWorker(workerID)
            case .preferSessions(let generation):
                server.broker.preferSessions(onGeneration: generation)
            case .reloadProgress(let step):
                let wait = reloadWait()
                var metadata: Logger.Metadata = [:]
                if let until = wait?.until { metadata["waits_until"] = "\(ReloadWait.clock(until))" }
                logger.info("reload: \(step)", metadata: metadata)
                tellRequester(.progress(step, wait: wait))
                lastWaitReport = .now()
            case .reloadFinished(let outcome):
                finishReload(outcome)
            case .workerLeft(let slot, let after):
                logger.info("worker left (DISCONNECT, exit 0); starting another",
                            metadata: ["slot": "\(slot)", "delay_ms": "\(after.milliseconds)"])
            case .restartScheduled(let slot, let after, let exit):
                logger.warning("worker exited unexpectedly; restarting",
                               metadata: ["slot": "\(slot)", "exit": "\(exit)",
                                          "delay_ms": "\(after.milliseconds)"])
            }
        }
        if !followUps.isEmpty { perform(followUps) }
    }

    /// The worker's contract variables (docs/workers.md).
    func environment(slot: Int, workerID: WorkerID, generation: GenerationID) -> [String: String] {
        var environment = options.workerEnvironment
        environment["BATON_BACKEND"] = options.backend
        environment["BATON_WORKER_ID"] = workerID.name
        environment["BATON_SLOT"] = "\(slot)"
        environment["BATON_GENERATION"] = "\(generation)"
        environment["BATON_HEARTBEAT_INTERVAL_MS"] = "\(options.heartbeatMilliseconds)"
        environment["BATON_HEARTBEAT_LIVENESS"] = "\(options.heartbeatLiveness)"
        environment["BATON_HEARTBEAT_MS"] = "\(options.heartbeatMilliseconds)"  // the old name, kept
        return environment
    }

    /// Starts one worker; returns what the pool decides if that fails.
    private mutating func spawn(slot: Int, workerID: WorkerID, generation: GenerationID) -> [PoolAction] {
        let command = generations.command(of: generation) ?? options.command
        let launch = WorkerLaunch(slot: slot, workerID: workerID, generation: generation, command: command,
                                  environment: environment(slot: slot, workerID: workerID, generation: generation))
        let pid: Int32
        do {
            pid = try launcher.launch(launch)
        } catch {
            let now = Instant.now()
            logger.error("worker did not start", metadata: ["slot": "\(slot)", "reason": "\(error.reason)"])
            record(.supervisor(kind: .spawnFailed, slot: slot, workerID: workerID, generation: generation,
                               detail: error.reason, at: now))
            var random = SystemRandomNumberGenerator()
            let actions = pool.spawnFailed(slot: slot, workerID: workerID, reason: error.reason,
                                           permanent: error.permanent, now: now, using: &random)
            metrics.countRestarts(actions, reason: "spawn-failed")
            return actions
        }
        let now = Instant.now()
        pool.spawned(slot: slot, workerID: workerID, pid: pid, now: now)
        server.broker.workerProcessStarted(workerID, generation: generation)
        record(.workerSpawned(workerID: workerID, slot: slot, pid: pid, generation: generation, at: now))
        registry.record(pool.livePids)
        logger.info("worker started", metadata: ["slot": "\(slot)", "pid": "\(pid)", "worker": "\(workerID)"])
        return []
    }

    /// Answers one control request (a reload is answered as it progresses).
    mutating func answer(_ request: ControlRequest, from peer: ControlServer.Peer) {
        switch request {
        case .reload(let reload):
            var reloadOptions = ReloadOptions()
            reloadOptions.surge = reload.surge
            guard let ready = TimeSpan(seconds: reload.readyTimeoutSeconds), ready > .zero,
                  let drain = TimeSpan(seconds: reload.drainTimeoutSeconds)
            else {
                let refusal = "the ready and drain timeouts must be 0…\(Int(TimeSpan.maxSeconds)) seconds "
                    + "(the ready timeout above 0)"
                reloadRefused(refusal)
                control?.send(.refused(refusal), to: peer)
                return
            }
            reloadOptions.readyTimeout = ready
            reloadOptions.drainTimeout = drain
            if let refusal = startReload(command: reload.command, options: reloadOptions, requester: peer) {
                reloadRefused(refusal)
                control?.send(.refused(refusal), to: peer)
            }
        case .stop:
            logger.info("stop requested over the control socket")
            _ = baton_kill(getpid(), SIGTERM)
            control?.send(.stopping(pid: getpid()), to: peer)
        case .status:
            // The broker's part is read on its thread and comes back as a command: this thread never waits.
            server.broker.status { [server] broker in server.send(.brokerStatus(broker, for: peer)) }
        }
    }

    /// Answers `status` once the broker's part has arrived (nil: the broker is not running).
    mutating func sendStatus(_ brokerStatus: BrokerStatus?, to peer: ControlServer.Peer) {
        let snapshot = brokerStatus?.snapshot
        let broker = snapshot?.stats ?? BrokerStats()
        let command = generations.command(of: pool.currentGeneration) ?? options.command
        let workers = workerStatus(brokerStatus?.workers)
        var report = StatusReport(pid: getpid(), command: command.display, slots: workers.slots, broker: broker,
                                  history: options.historyStats?())
        report.externalWorkers = workers.external
        report.descriptors = DescriptorUsage.current()
        report.controlPeersRefused = control?.refusedPeers ?? 0
        report.controlRequestsUnreadable = control?.unreadableRequests ?? 0
        report.requestLatency = snapshot?.metrics.requestDuration
        control?.send(.status(report), to: peer)
    }
}
