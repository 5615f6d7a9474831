import Broker
import CBatonSys
import Foundation
import Logging
import ZeroMQ

/// The body of the supervisor thread. Everything here runs on that one thread.
struct SupervisorLoop {
    let server: SupervisorServer
    var pool: PoolCore
    let registry: WorkerRegistry
    var epoll: Int32 = -1
    /// Live worker processes: pid → pidfd (-1 when the kernel gave none).
    var pidfds: [Int32: Int32] = [:]
    var logFiles: [Int: Int32] = [:]
    var stopWaiters: [@Sendable () -> Void] = []
    /// The control socket (set while serving), for reload progress.
    var control: Socket?
    /// The command of each generation this supervisor has run or is rolling to.
    var commands: [Int: WorkerCommand]
    var latestGeneration: Int
    /// The control peer waiting for the running reload, `[routing id][""]`.
    var reloadRequester: [[UInt8]]?
    /// Who may send control commands, and how many were refused.
    var peerPolicy = ControlPeerPolicy()

    init(server: SupervisorServer) {
        self.server = server
        pool = PoolCore(configuration: server.options.pool)
        registry = WorkerRegistry(directory: server.options.stateDirectory)
        commands = [server.options.pool.generation: server.options.command]
        latestGeneration = max(server.options.latestGeneration, server.options.pool.generation)
    }

    var logger: Logger { server.logger }
    var options: SupervisorServer.Options { server.options }

    mutating func run(started: (SupervisorError?) -> Void) {
        baton_set_thread_name("baton-supervise")
        epoll = baton_epoll_create()
        defer { if epoll >= 0 { close(epoll) } }
        let context: Context
        let control: Socket
        do {
            context = try Context()
            control = try Socket(context, .router)
            control.linger = 0
            try control.bind(options.controlEndpoint)
            restrictToOwner(options.controlEndpoint)
        } catch {
            return started(SupervisorError(.control, "cannot bind control socket \(options.controlEndpoint): \(error)"))
        }
        defer {
            control.close()
            context.terminate()
            for fd in logFiles.values { close(fd) }
            for done in stopWaiters { done() }
        }
        self.control = control
        _ = baton_install_hangup_handler(server.wake)
        started(nil)
        logger.info("starting workers", metadata: ["workers": "\(options.pool.workers)",
                                                   "command": "\(options.command.display)"])
        perform(pool.start(now: Clock.monotonic()))
        do {
            try serve(control: control)
        } catch {
            logger.critical("supervisor stopped on an error", metadata: ["error": "\(error)"])
            perform(pool.beginStop(now: Clock.monotonic()))
            for (pid, _) in pidfds { _ = baton_kill(-pid, SIGKILL) }
        }
        registry.record([])
    }

    private mutating func serve(control: Socket) throws {
        var poller = Poller()
        let wakeItem = poller.add(fileDescriptor: server.wake)
        let epollItem = poller.add(fileDescriptor: epoll)
        let controlItem = poller.add(control)
        var frames: [[UInt8]] = []
        var peerAddress: String?
        while !(pool.stopping && pool.allExited) {
            let now = Clock.monotonic()
            var timeout = 250
            if let deadline = pool.nextDeadline {
                timeout = deadline > now ? min(Int((deadline - now) / 1_000_000) + 1, timeout) : 0
            }
            try poller.poll(timeoutMilliseconds: timeout)
            if poller.isReady(wakeItem) {
                _ = baton_eventfd_drain(server.wake)
                for command in server.takeCommands() { handle(command) }
                if baton_take_hangup() != 0 { handle(.hangup) }
            }
            if poller.isReady(epollItem) || pidfds.values.contains(-1) || pool.stopping {
                reapExited()
            }
            if poller.isReady(controlItem) {
                while try control.receive(into: &frames, peerAddress: &peerAddress, dontWait: true) {
                    let reply = peerPolicy.refusal(of: frames, peerAddress: peerAddress, logger: logger)
                        ?? answerControl(frames)
                    if let reply { _ = try? control.send(frames: reply, dontWait: true) }
                }
            }
            perform(pool.tick(now: Clock.monotonic()))
        }
        logger.info("all workers stopped")
    }

    private mutating func handle(_ command: SupervisorServer.Command) {
        switch command {
        case .brokerEvent(.workerReady(let worker, _)):
            perform(pool.workerReady(String(decoding: worker, as: UTF8.self), now: Clock.monotonic()))
        case .brokerEvent(.workerDrained(let worker)):
            perform(pool.workerDrained(String(decoding: worker, as: UTF8.self), now: Clock.monotonic()))
        case .hangup:
            logger.info("SIGHUP: rolling reload of the current command")
            if let refusal = startReload(command: nil, options: ReloadOptions(), requester: nil) {
                logger.error("reload refused", metadata: ["reason": "\(refusal)"])
            }
        case .brokerEvent(.workerHung(let worker)):
            perform(pool.workerHung(String(decoding: worker, as: UTF8.self), now: Clock.monotonic()))
        case .brokerEvent:
            break
        case .stop(let done):
            stopWaiters.append(done)
            if !pool.stopping {
                logger.info("stopping workers", metadata: ["grace_ms": "\(options.pool.stopGrace / 1_000_000)"])
                perform(pool.beginStop(now: Clock.monotonic()))
            }
        case .status(let reply):
            reply(slotStatus())
        }
    }

    /// Reaps every worker that has exited (only our own pids; never `waitpid(-1)`).
    private mutating func reapExited() {
        for (pid, pidfd) in pidfds {
            var code: Int32 = 0
            var signal: Int32 = 0
            guard baton_reap(pid, &code, &signal) == 1 else { continue }
            if pidfd >= 0 {
                _ = baton_epoll_remove(epoll, pidfd)
                close(pidfd)
            }
            pidfds[pid] = nil
            let exit = signal != 0 ? "signal \(signal)" : "exit \(code)"
            if let worker = pool.exitingWorker(pid: pid) {
                record(.workerExited(workerID: worker.workerID, code: signal == 0 ? code : nil,
                                     signal: signal != 0 ? signal : nil, reason: worker.reason, at: Clock.monotonic()))
            }
            var random = SystemRandomNumberGenerator()
            perform(pool.processExited(pid: pid, exit: exit, now: Clock.monotonic(), using: &random))
        }
        registry.record(pool.livePids)
    }

    func record(_ event: HistoryEvent) {
        guard let history = options.history else { return }
        var events = [event]
        history.submit(&events)
    }

    func slotStatus() -> [SlotStatus] {
        var slots = pool.status(now: Clock.monotonic())
        if let workers = try? server.broker.workersBlocking() {
            let served = Dictionary(workers.map { (String(decoding: $0.id, as: UTF8.self), $0.served) },
                                    uniquingKeysWith: { first, _ in first })
            for index in slots.indices { slots[index].served = slots[index].workerID.flatMap { served[$0] } ?? 0 }
        }
        return slots
    }

    /// Only the owner may use an ipc control socket that lives in the file system.
    private func restrictToOwner(_ endpoint: String) {
        guard endpoint.hasPrefix("ipc://") else { return }
        _ = chmod(String(endpoint.dropFirst("ipc://".count)), 0o600)
    }
}
