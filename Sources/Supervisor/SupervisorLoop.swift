import BatonProtocol
import Broker
import CBatonSys
import Foundation
import Logging
import ServiceThread
import ZeroMQ

/// The body of the supervisor thread: polls the control socket, the launcher's exit notifications and the
/// server's commands, feeds ``PoolCore`` and performs what it decides. Everything here runs on that one thread.
struct SupervisorLoop {
    let server: SupervisorServer
    var pool: PoolCore
    let registry: WorkerRegistry
    let launcher: any WorkerLauncher
    var stopWaiters: [@Sendable () -> Void] = []
    /// The control socket (set while serving).
    var control: ControlServer?
    var generations: GenerationCatalogue
    /// The control peer waiting for the running reload.
    var reloadRequester: ControlServer.Peer?
    /// Restarts and reloads counted for `/metrics`.
    var metrics = SupervisorMetrics()
    /// When the reload's caller last heard from it (monotonic nanoseconds).
    var lastWaitReport = Instant.zero
    /// Refused reloads logged: at most 20 lines per 10 seconds, so a peer that sends them in a loop cannot flood
    /// the log (each is still counted and answered).
    var reloadRefusalLog = RateLimiter(burst: 20, window: .seconds(10))
    /// How often a waiting reload tells its caller what it waits for.
    static let waitReportInterval = TimeSpan.seconds(5)

    init(server: SupervisorServer) {
        self.server = server
        pool = PoolCore(configuration: server.options.pool)
        registry = WorkerRegistry(directory: server.options.stateDirectory)
        launcher = server.options.makeLauncher()
        generations = GenerationCatalogue(current: server.options.pool.generation, command: server.options.command,
                                          latestUsed: server.options.latestGeneration)
    }

    var logger: Logger { server.logger }
    var options: SupervisorServer.Options { server.options }

    mutating func run(started: (SupervisorError?) -> Void) {
        baton_set_thread_name("baton-supervise")
        let control: ControlServer
        do {
            control = try ControlServer(endpoint: options.controlEndpoint, logger: logger)
        } catch {
            launcher.close(killing: false)
            return started(SupervisorError(.control, "cannot bind control socket \(options.controlEndpoint): \(error)"))
        }
        self.control = control
        defer {
            control.close()
            for done in stopWaiters { done() }
        }
        _ = baton_install_hangup_handler(server.thread.wakeDescriptor)
        started(nil)
        logger.info("starting workers", metadata: ["workers": "\(options.pool.workers)",
                                                   "command": "\(options.command.display)"])
        perform(pool.start(now: Instant.now()))
        do {
            try serve(control: control)
            launcher.close(killing: false)
        } catch {
            logger.critical("supervisor stopped on an error", metadata: ["error": "\(error)"])
            perform(pool.beginStop(now: Instant.now()))
            launcher.close(killing: true)
        }
        registry.record([])
    }

    private mutating func serve(control: ControlServer) throws {
        var poller = Poller()
        let wakeItem = poller.add(fileDescriptor: server.thread.wakeDescriptor)
        let exitItem = poller.add(fileDescriptor: launcher.exitDescriptor)
        let controlItem = control.register(in: &poller)
        let outputItem = launcher.outputDescriptor >= 0 ? poller.add(fileDescriptor: launcher.outputDescriptor) : nil
        while !(pool.stopping && pool.allExited) {
            let now = Instant.now()
            var timeout = launcher.needsPolling ? 50 : 250
            if let deadline = pool.nextDeadline {
                let left = deadline.since(now)
                timeout = left > .zero ? min(Int(left.milliseconds) + 1, timeout) : 0
            }
            try poller.poll(timeoutMilliseconds: timeout)
            if poller.isReady(wakeItem) {
                for command in server.thread.takeCommands() { handle(command) }
                if baton_take_hangup() != 0 { hangup() }
            }
            if let outputItem, poller.isReady(outputItem) { launcher.pumpOutput() }
            if poller.isReady(exitItem) || launcher.needsPolling || pool.stopping {
                reapExited()
            } else {
                launcher.tend()
            }
            if poller.isReady(controlItem) {
                for (peer, request) in try control.receive() { answer(request, from: peer) }
            }
            perform(pool.tick(now: Instant.now()))
            reportReloadWait()
        }
        logger.info("all workers stopped")
    }

    private mutating func handle(_ command: SupervisorServer.Command) {
        let now = Instant.now()
        switch command {
        case .workerEvent(.ready(let worker, _)):
            perform(pool.workerReady(worker, now: now))
        case .workerEvent(.drained(let worker)):
            perform(pool.workerDrained(worker, now: now))
        case .workerEvent(.hung(let worker, _)):
            perform(pool.workerHung(worker, now: now))
        case .workerEvent(.lost(let worker, .disconnected, _)):
            pool.workerDisconnected(worker)
        case .workerEvent(.sessionsMoved(let worker, _, let moved, let failed, let lost)):
            perform(pool.sessionsMoved(from: worker, moved: moved, failed: failed, lost: lost))
        case .workerEvent(.lost):
            break
        case .controlReply(let reply, let peer):
            control?.send(reply, to: peer)
        case .snapshot(let reply):
            reply(snapshot())
        case .brokerStatus(let broker, let peer):
            sendStatus(broker, to: peer)
        case .stop(let done):
            stopWaiters.append(done)
            if !pool.stopping {
                logger.info("stopping workers",
                            metadata: ["grace_ms": "\(options.pool.stopGrace.milliseconds)"])
                perform(pool.beginStop(now: now))
            }
        }
    }

    private mutating func hangup() {
        logger.info("SIGHUP: rolling reload of the current command")
        if let refusal = startReload(command: nil, options: ReloadOptions(), requester: nil) {
            reloadRefused(refusal)
        }
    }

    /// Reaps every worker that has exited and lets the pool decide what follows.
    private mutating func reapExited() {
        let exited = launcher.reapExited()
        guard !exited.isEmpty else { return }
        for (pid, exit) in exited {
            let exiting = pool.exitingWorker(pid: pid, exit: exit)
            if let worker = exiting {
                record(.workerExited(workerID: worker.workerID, code: exit.code, signal: exit.signal,
                                     reason: worker.reason, at: Instant.now()))
            }
            var random = SystemRandomNumberGenerator()
            let actions = pool.processExited(pid: pid, exit: exit, now: Instant.now(),
                                             using: &random)
            metrics.countRestarts(actions, reason: (exiting?.reason ?? .crashed).rawValue)
            perform(actions)
        }
        registry.record(pool.livePids)
    }

    func record(_ event: HistoryEvent) {
        guard let history = options.history else { return }
        var events = [event]
        history.submit(&events)
    }

    /// The slots with what the broker knows of their workers (served, in flight, capacity), and the workers
    /// the broker knows that no slot started.
    func workerStatus(_ workers: [WorkerSummary]?) -> (slots: [SlotStatus], external: [ExternalWorkerStatus]) {
        var slots = pool.status(now: Instant.now())
        for index in slots.indices { slots[index].reloadWait = slots[index].reloadWait.map(Self.stamped) }
        guard let workers else { return (slots, []) }
        var byID = Dictionary(workers.map { ($0.id.name, $0) },
                              uniquingKeysWith: { first, _ in first })
        for index in slots.indices {
            guard let id = slots[index].workerID, let worker = byID.removeValue(forKey: id) else { continue }
            slots[index].served = worker.served
            slots[index].inFlight = worker.inFlight
            slots[index].capacity = worker.capacity
            slots[index].sessions = worker.sessions
            if slots[index].reloadWait?.step == .drain {
                slots[index].reloadWait?.requests = worker.inFlight
                slots[index].reloadWait?.sessions = worker.sessions
            }
        }
        let external = byID.values.filter { !$0.managed }
            .map { ExternalWorkerStatus(id: $0.id.name, inFlight: $0.inFlight, capacity: $0.capacity,
                                        served: $0.served, sessions: $0.sessions) }
            .sorted { $0.id < $1.id }
        return (slots, external)
    }
}
