import BatonProtocol
import Broker
import CBatonSys
import Foundation
import Logging
import ZeroMQ

extension SupervisorLoop {
    mutating func perform(_ actions: [PoolAction]) {
        var followUps: [PoolAction] = []
        for action in actions {
            switch action {
            case .spawn(let slot, let workerID, let generation):
                followUps += spawn(slot: slot, workerID: workerID, generation: generation)
            case .signal(let pid, let signal):
                // The worker leads its own process group: signal the group, so its children go too.
                if baton_kill(-pid, signal) != 0 { _ = baton_kill(pid, signal) }
            case .workerGone(let workerID, let reason):
                server.broker.workerProcessEnded(Array(workerID.utf8), reason: reason)
            case .slotFailed(let slot, let reason):
                logger.error("slot failed: no more restarts", metadata: ["slot": "\(slot)", "reason": "\(reason)"])
                record(.supervisor(kind: .slotFailed, slot: slot, workerID: nil, generation: nil, detail: reason,
                                   at: BatonClock.monotonic()))
            case .drain(let workerID):
                server.broker.drainWorker(Array(workerID.utf8))
            case .reloadProgress(let line):
                logger.info("reload: \(line)")
                tellRequester(["PROGRESS", line])
            case .reloadFinished(let succeeded, let generation, let previous, let message):
                finishReload(succeeded: succeeded, generation: generation, previous: previous, message: message)
            case .restartScheduled(let slot, let after, let exit):
                logger.warning("worker exited unexpectedly; restarting",
                               metadata: ["slot": "\(slot)", "exit": "\(exit)", "delay_ms": "\(after / 1_000_000)"])
            }
        }
        if !followUps.isEmpty { perform(followUps) }
    }

    /// Forks and execs one worker; returns what the pool decides if that fails.
    private mutating func spawn(slot: Int, workerID: String, generation: Int) -> [PoolAction] {
        let command = commands[generation] ?? options.command
        let logFD = logFile(slot: slot)
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("BATON_") }
        environment["BATON_BACKEND"] = options.backend
        environment["BATON_WORKER_ID"] = workerID
        environment["BATON_SLOT"] = "\(slot)"
        environment["BATON_GENERATION"] = "\(generation)"
        environment["BATON_HEARTBEAT_MS"] = "\(options.heartbeatMilliseconds)"
        let argv = [command.executable] + command.arguments
        let envp = environment.map { "\($0.key)=\($0.value)" }
        var pid: Int32 = 0
        var pidfd: Int32 = -1
        let result = withCStrings(argv) { argvPointer in
            withCStrings(envp) { envPointer in
                baton_spawn(command.executable, argvPointer, envPointer, logFD, logFD, &pid, &pidfd)
            }
        }
        let now = BatonClock.monotonic()
        guard result == 0 else {
            let code = abs(result)
            let reason = "cannot start \(command.executable): \(String(cString: strerror(code)))"
            logger.error("worker did not start", metadata: ["slot": "\(slot)", "reason": "\(reason)"])
            let permanent = result > 0 && [ENOENT, EACCES, ENOEXEC, ENOTDIR, EISDIR].contains(code)
            record(.supervisor(kind: .spawnFailed, slot: slot, workerID: workerID, generation: generation,
                               detail: reason, at: now))
            var random = SystemRandomNumberGenerator()
            return pool.spawnFailed(slot: slot, workerID: workerID, reason: reason, permanent: permanent, now: now,
                                    using: &random)
        }
        pool.spawned(slot: slot, workerID: workerID, pid: pid, now: now)
        server.broker.workerProcessStarted(Array(workerID.utf8))
        record(.workerSpawned(workerID: workerID, slot: slot, pid: pid, generation: generation, at: now))
        pidfds[pid] = pidfd
        if pidfd >= 0 { _ = baton_epoll_add(epoll, pidfd, UInt64(pid)) }
        registry.record(pool.livePids)
        logger.info("worker started", metadata: ["slot": "\(slot)", "pid": "\(pid)", "worker": "\(workerID)"])
        return []
    }

    /// The append-only log file a slot's workers write their stdout and stderr to.
    private mutating func logFile(slot: Int) -> Int32 {
        if let fd = logFiles[slot] { return fd }
        let directory = options.stateDirectory + "/logs"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                 attributes: [.posixPermissions: 0o700])
        let fd = open(directory + "/slot-\(slot).log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        if fd >= 0 { logFiles[slot] = fd }
        return fd
    }

    /// Answers one control request `[peer][""][command…]`; nil when there is nothing to send now (a malformed
    /// request, dropped, or a reload, answered as it progresses).
    mutating func answerControl(_ frames: [[UInt8]]) -> [[UInt8]]? {
        guard frames.count >= 3, frames[1].isEmpty else { return nil }
        let envelope = Array(frames[..<2])
        let command = String(decoding: frames[2], as: UTF8.self)
        switch command {
        case "reload":
            let request = frames.count > 3 ? try? JSONDecoder().decode(ReloadRequest.self, from: Data(frames[3])) : nil
            if frames.count > 3 && request == nil {
                return envelope + [Array("ERR".utf8), Array("malformed reload request".utf8)]
            }
            var reloadOptions = ReloadOptions()
            if let request {
                reloadOptions.surge = request.surge
                reloadOptions.readyTimeout = UInt64(request.readyTimeoutSeconds * 1e9)
                reloadOptions.drainTimeout = UInt64(request.drainTimeoutSeconds * 1e9)
            }
            if let refusal = startReload(command: request?.command, options: reloadOptions, requester: envelope) {
                return envelope + [Array("ERR".utf8), Array(refusal.utf8)]
            }
            return nil
        case "stop":
            logger.info("stop requested over the control socket")
            _ = baton_kill(getpid(), SIGTERM)
            return envelope + [Array("OK".utf8), Array("\(getpid())".utf8)]
        case "status":
            let broker = (try? server.broker.statsBlocking()) ?? BrokerStats()
            let report = StatusReport(pid: getpid(), command: options.command.display, slots: slotStatus(),
                                      broker: broker, history: options.historyStats?())
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            guard let json = try? encoder.encode(report) else { return envelope + [Array("ERR".utf8)] }
            return envelope + [Array("OK".utf8), Array(json)]
        default:
            return envelope + [Array("ERR".utf8), Array("unknown command '\(command)'".utf8)]
        }
    }
}

/// Calls `body` with a NULL-terminated array of C strings that lives for the call.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { for pointer in pointers { free(pointer) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
