import BatonProtocol
import Broker
import CBatonSys
import Foundation
import Logging
import ServiceLifecycle
import Store
import Supervisor
import Synchronization

/// Baton assembled: the composition root that wires the broker, the supervisor, the history recorder and
/// their services, and runs them until a graceful stop.
///
/// `run()` first does what must succeed before serving (lock the state directory, end a dead supervisor's
/// workers, open and migrate the history database, bind the broker, start the workers) and throws
/// ``BatonStartupError`` if any of it fails; then it serves until SIGTERM, SIGINT, `baton stop` or ``stop()``,
/// and shuts down in reverse order: the broker drains, then the workers stop, then history is flushed.
public final class BatonApplication: Sendable {
    /// The settings.
    public let configuration: BatonConfiguration
    /// Where it logs.
    public let logger: Logger
    private let group = Mutex<GroupState>(.notStarted)

    private enum GroupState {
        case notStarted
        case running(ServiceGroup)
        case stopRequested
    }

    /// Creates an application; nothing starts before ``run(handleSignals:onServing:)``.
    public init(configuration: BatonConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs Baton until a graceful stop.
    ///
    /// - Parameters:
    ///   - handleSignals: install SIGTERM and SIGINT handlers that stop Baton gracefully (`baton serve` does;
    ///     an in-process embedding may not want process-wide handlers).
    ///   - onServing: called once the broker is bound and the workers are starting, with the real endpoints.
    public func run(handleSignals: Bool = true,
                    onServing: @Sendable (BrokerServer.BoundEndpoints) -> Void = { _ in }) async throws {
        // First of all, so that a signal during start-up is remembered rather than fatal.
        let signals = handleSignals ? try SignalService.install() : nil
        let metrics = try reserveMetricsAddress()
        let parts = try prepare()
        onServing(parts.endpoints)
        _ = baton_sd_notify("READY=1\nMAINPID=\(getpid())")
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let signals { services.append(.init(service: signals, successTerminationBehavior: .gracefullyShutdownGroup)) }
        if let metrics {
            let service = metricsService(metrics, parts.broker, parts.supervisor, parts.recorder)
            // The endpoint is an aid, not a dependency: if it fails, Baton goes on serving (the error is logged).
            services.append(.init(service: service, successTerminationBehavior: .ignore,
                                  failureTerminationBehavior: .ignore))
        }
        services.append(.init(service: SupervisorService(supervisor: parts.supervisor)))
        services.append(.init(service: BrokerService(server: parts.broker, drainTimeout: configuration.drainTimeout)))
        var groupConfiguration = ServiceGroupConfiguration(services: services, logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = nil
        let serviceGroup = ServiceGroup(configuration: groupConfiguration)
        let stopAtOnce = group.withLock { state -> Bool in
            if case .stopRequested = state { return true }
            state = .running(serviceGroup)
            return false
        }
        if stopAtOnce { await serviceGroup.triggerGracefulShutdown() }
        try await serviceGroup.run()
        if let recorder = parts.recorder {
            recorder.record(.supervisor(kind: .supervisorStopped, slot: nil, workerID: nil, generation: nil,
                                        detail: nil, at: Instant.now()))
            let stats = recorder.close()
            logger.info("history flushed", metadata: [
                "request_rows": "\(stats.requestRows)", "dropped_events": "\(stats.droppedEvents)",
                "failed_batches": "\(stats.failedBatches)",
            ])
        }
        parts.state.removeSockets()
    }

    /// Begins a graceful stop, as SIGTERM does; safe from any thread, also before ``run(handleSignals:onServing:)``
    /// has started serving.
    public func stop() async {
        let running = group.withLock { state -> ServiceGroup? in
            if case .running(let group) = state { return group }
            state = .stopRequested
            return nil
        }
        await running?.triggerGracefulShutdown()
    }

    private struct Parts {
        let state: StateDirectory
        let recorder: HistoryRecorder?
        let broker: BrokerServer
        let supervisor: SupervisorServer
        let endpoints: BrokerServer.BoundEndpoints
    }

    /// The steps before serving; each failure is a ``BatonStartupError``.
    private func prepare() throws(BatonStartupError) -> Parts {
        let state: StateDirectory
        do {
            state = try StateDirectory(path: configuration.stateDirectory)
        } catch {
            throw BatonStartupError(error)
        }
        // Workers a killed supervisor left behind must not register with the new broker.
        do {
            try WorkerRegistry(directory: state.path).endLeftovers(logger: logger)
        } catch {
            throw BatonStartupError(error)
        }
        if let logFile = configuration.logFile {
            try? FileManager.default.createDirectory(atPath: state.path + "/logs", withIntermediateDirectories: true,
                                                     attributes: [.posixPermissions: 0o700])
            logFile.attach(RotatingLogFile(path: state.path + "/logs/baton.log", policy: configuration.logRotation))
        }
        let cgroup = configuration.makeLauncher == nil ? WorkerCgroup.open(name: Self.cgroupName(for: state.path)) : nil
        if let cgroup {
            let ended = cgroup.killAll()
            if ended > 0 {
                logger.warning("ended processes a previous supervisor left in its cgroup",
                               metadata: ["processes": "\(ended)", "cgroup": "\(cgroup.path)"])
            }
        }
        let recorder: HistoryRecorder?
        let run: HistoryDatabase.RunStart?
        do {
            (recorder, run) = try openHistory(state: state)
        } catch {
            throw BatonStartupError(error)
        }
        let relay = EventRelay()
        var options = BrokerServer.Options(frontend: configuration.frontend,
                                           backend: configuration.backend ?? state.defaultBackendEndpoint)
        options.policy = configuration.broker
        options.policy.recordHistory = recorder != nil
        options.maxMessageSize = configuration.maxMessageSize
        options.observer = { relay.forward($0) }
        options.history = recorder
        options.firstRequestID = run?.firstRequestID ?? 1
        options.security = configuration.security
        let broker: BrokerServer
        let bound: BrokerServer.BoundEndpoints
        do {
            broker = try BrokerServer(options: options, logger: logger)
            bound = try broker.start()
        } catch {
            recorder?.close()
            throw BatonStartupError(error)
        }
        do {
            let supervisor = try makeSupervisor(state: state, broker: broker, backend: bound.backend,
                                                recorder: recorder, run: run, cgroup: cgroup)
            relay.connect(supervisor)
            try supervisor.start()
            logger.info("serving", metadata: ["frontend": "\(bound.frontend)", "backend": "\(bound.backend)",
                                              "state_dir": "\(state.path)"])
            return Parts(state: state, recorder: recorder, broker: broker, supervisor: supervisor, endpoints: bound)
        } catch {
            broker.stop()
            recorder?.close()
            throw BatonStartupError(error)
        }
    }

    /// The supervisor; it also runs with no workers, to answer status and stop for the broker alone.
    private func makeSupervisor(state: StateDirectory, broker: BrokerServer, backend: String,
                                recorder: HistoryRecorder?, run: HistoryDatabase.RunStart?,
                                cgroup: WorkerCgroup?) throws -> SupervisorServer {
        let command = configuration.command ?? WorkerCommand(executable: "(no managed workers)", arguments: [])
        var pool = PoolConfiguration(workers: configuration.workers,
                                     runID: String(UInt32.random(in: .min ... .max), radix: 36))
        pool.stopGrace = configuration.stopGrace
        pool.generation = GenerationID(run?.generation ?? max(run?.latestGeneration ?? 1, 1))
        pool.restart = configuration.restart
        pool.sessionDrainTimeout = configuration.broker.sessionDrainTimeout
        var options = SupervisorServer.Options(
            command: command, pool: pool, stateDirectory: state.path, backend: backend,
            heartbeatMilliseconds: Int(clamping: configuration.broker.heartbeatInterval.milliseconds),
            controlEndpoint: state.controlEndpoint)
        options.heartbeatLiveness = configuration.broker.heartbeatLiveness
        options.history = recorder
        if let recorder { options.historyStats = { recorder.stats } }
        options.latestGeneration = run.map { GenerationID($0.latestGeneration) } ?? pool.generation
        options.sha256 = { try? ExecutableDigest.hexDigest(ofFile: $0) }
        options.workerEnvironment = configuration.workerEnvironment
        let logs = state.path + "/logs"
        if let makeLauncher = configuration.makeLauncher {
            options.makeLauncher = { makeLauncher(logs) }
        } else {
            let (stopGrace, rotation) = (configuration.stopGrace, configuration.logRotation)
            options.makeLauncher = {
                ProcessLauncher(logDirectory: logs, cgroup: cgroup, stopGrace: stopGrace, logPolicy: rotation)
            }
        }
        return try SupervisorServer(options: options, broker: broker, logger: logger)
    }

    /// The pool's cgroup name: stable for a state directory, so the next supervisor finds what a killed one left.
    static func cgroupName(for stateDirectory: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in stateDirectory.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return "baton-" + String(hash, radix: 16)
    }

    /// Starts the recorder: on the opened database, or degraded and retrying when it cannot be opened (history
    /// never stops Baton from serving).
    private func openHistory(state: StateDirectory) throws -> (HistoryRecorder?, HistoryDatabase.RunStart?) {
        guard configuration.history else { return (nil, nil) }
        let command = configuration.command
        let digest = try command.map { try ExecutableDigest.hexDigest(ofFile: $0.executable) }
        var options = HistoryRecorder.Options()
        options.retention = configuration.historyRetention
        let (recorder, run) = HistoryStartup.start(path: state.databasePath, executable: command?.executable,
                                                   arguments: command?.arguments ?? [], sha256: digest,
                                                   detail: "pid \(getpid())", options: options, logger: logger)
        return (recorder, run)
    }
}
