import BatonProtocol
import ArgumentParser
import Broker
import CBatonSys
import Foundation
import Logging
import Store
import ServiceLifecycle
import Supervisor

/// `baton serve`: run the supervisor and its broker.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the supervisor: the broker, and --workers managed copies of COMMAND.",
        usage: "baton serve [<options>] [-- COMMAND [ARGS...]]",
        discussion: """
            With no COMMAND, Baton runs its bundled example worker (baton-example-worker, an echo server). \
            Workers get BATON_BACKEND, BATON_WORKER_ID, BATON_SLOT, BATON_GENERATION and BATON_HEARTBEAT_MS \
            in their environment; their stdout and stderr go to STATE_DIR/logs/slot-N.log. With --workers 0 \
            the broker runs alone, for external workers. Every endpoint takes any ZeroMQ endpoint: \
            tcp://HOST:PORT, ipc:///path, ipc://@abstract-name. SIGTERM or SIGINT stops gracefully: queued \
            requests are answered with BATON-ERR shutting-down, in-flight ones get up to --drain-timeout to \
            finish, then workers get SIGTERM and, after --stop-grace, SIGKILL.
            """
    )

    @Option(help: "A config file of `key = value` lines setting any of these flags (see deploy/baton.conf); flags given here win.")
    var config: String?

    @Option(help: "Endpoint clients connect to.")
    var frontend = "tcp://127.0.0.1:5555"

    @Option(help: "Endpoint workers connect to (default: an ipc socket in the state directory).")
    var backend: String?

    @Option(help: "Directory for the lock, ipc sockets and history database.")
    var stateDir = ".baton"

    @Option(help: "Requests the broker queues; at the bound it stops reading clients (back-pressure).")
    var maxQueued = 10_000

    @Option(help: "Seconds a request may wait for a worker before it gets BATON-ERR expired (0: no limit).")
    var queueTimeout: Double = 30

    @Option(help: "Milliseconds between heartbeats to and from heartbeating workers.")
    var heartbeatInterval = 1_000

    @Option(help: "Heartbeat intervals a heartbeating worker may stay silent before it is dropped.")
    var heartbeatLiveness = 3

    @Option(help: "Times a request whose worker died is tried on another worker (only for idempotent work).")
    var retryOnCrash = 0

    @Option(help: "Seconds in-flight requests get to finish on shutdown.")
    var drainTimeout: Double = 10

    @Option(help: "Largest message, in bytes, a client or worker may send.")
    var maxMessageSize: Int64 = 16 << 20

    @Option(help: "Managed worker processes (slots); 0 runs the broker alone.")
    var workers = 4

    @Option(help: "Seconds a request may run before it gets worker-died and its worker counts as hung (0: no limit).")
    var requestTimeout: Double = 30

    @Option(help: "Seconds between SIGTERM and SIGKILL when a worker is stopped.")
    var stopGrace: Double = 5

    @Option(help: "Milliseconds before the first restart of a crashed worker; doubles per crash in a row, up to 10 s.")
    var restartDelay = 100

    @Option(help: "Crashes within --crash-window after which a slot is marked failed instead of restarted.")
    var maxCrashes = 5

    @Option(help: "Seconds over which --max-crashes are counted.")
    var crashWindow: Double = 60

    @Flag(inversion: .prefixedNo, help: "Record generations, workers and every request in STATE_DIR/baton.sqlite.")
    var history = true

    @Option(help: "Prune request history older than an age (7d, 12h, 30m) and/or beyond a row count (1000000).")
    var historyRetention: String?

    @OptionGroup var log: LogOptions

    @Argument(parsing: .postTerminator, help: "The worker command and its arguments, after `--`.")
    var command: [String] = []

    func validate() throws {
        guard maxQueued >= 1 else { throw ValidationError("--max-queued must be at least 1") }
        guard queueTimeout >= 0 else { throw ValidationError("--queue-timeout must not be negative") }
        guard heartbeatInterval >= 10 else { throw ValidationError("--heartbeat-interval must be at least 10 ms") }
        guard heartbeatLiveness >= 1 else { throw ValidationError("--heartbeat-liveness must be at least 1") }
        guard retryOnCrash >= 0 else { throw ValidationError("--retry-on-crash must not be negative") }
        guard drainTimeout >= 0 else { throw ValidationError("--drain-timeout must not be negative") }
        guard maxMessageSize >= 1 else { throw ValidationError("--max-message-size must be positive") }
        guard workers >= 0 && workers <= 4096 else { throw ValidationError("--workers must be 0…4096") }
        guard requestTimeout >= 0 else { throw ValidationError("--request-timeout must not be negative") }
        guard stopGrace >= 0 else { throw ValidationError("--stop-grace must not be negative") }
        if let historyRetention, HistoryRetention(parsing: historyRetention) == nil {
            throw ValidationError("--history-retention takes an age like 7d, 12h, 30m, 90s and/or a row count")
        }
        guard restartDelay >= 0 else { throw ValidationError("--restart-delay must not be negative") }
        guard maxCrashes >= 1, crashWindow > 0 else {
            throw ValidationError("--max-crashes must be at least 1 and --crash-window positive")
        }
    }

    func run() async throws {
        let signals = try SignalService.install()
        let logger = log.makeLogger(label: "baton")
        let state: StateDirectory
        let workerCommand: WorkerCommand?
        do {
            state = try StateDirectory(path: stateDir)
            workerCommand = workers > 0 ? try resolveCommand() : nil
        } catch {
            logger.error("\(error)")
            throw ExitCode(2)
        }
        // Workers a killed supervisor left behind must not register with the new broker.
        WorkerRegistry(directory: state.path).endLeftovers(logger: logger)
        let recorder: HistoryRecorder?
        let run: HistoryDatabase.RunStart?
        do {
            (recorder, run) = try openHistory(state: state, command: workerCommand, logger: logger)
        } catch {
            logger.error("\(error)")
            throw ExitCode(2)
        }

        let relay = EventRelay()
        var options = BrokerServer.Options(frontend: frontend, backend: backend ?? state.defaultBackendEndpoint)
        options.policy.maxQueued = maxQueued
        options.policy.queueTimeout = queueTimeout > 0 ? UInt64(queueTimeout * 1e9) : nil
        options.policy.heartbeatInterval = UInt64(heartbeatInterval) * 1_000_000
        options.policy.heartbeatLiveness = heartbeatLiveness
        options.policy.retryOnCrash = retryOnCrash
        options.policy.requestTimeout = requestTimeout > 0 ? UInt64(requestTimeout * 1e9) : nil
        options.maxMessageSize = maxMessageSize
        options.observer = { relay.forward($0) }
        options.history = recorder
        options.policy.recordHistory = recorder != nil
        options.firstRequestID = run?.firstRequestID ?? 1

        let server = try BrokerServer(options: options, logger: logger)
        let bound: BrokerServer.BoundEndpoints
        do {
            bound = try server.start()
        } catch {
            logger.error("\(error)")
            recorder?.close()
            throw ExitCode(2)
        }
        logger.info("serving", metadata: ["frontend": "\(bound.frontend)", "backend": "\(bound.backend)",
                                          "state_dir": "\(state.path)"])
        var services: [any Service] = []
        do {
            // The supervisor also runs with --workers 0: it answers status and stop for the broker alone.
            let workerCommand = workerCommand ?? WorkerCommand(executable: "(no managed workers)", arguments: [])
            var pool = PoolConfiguration(workers: workers, runID: String(UInt32.random(in: .min ... .max), radix: 36))
            pool.stopGrace = UInt64(stopGrace * 1e9)
            pool.generation = run?.generation ?? max(run?.latestGeneration ?? 1, 1)
            pool.restart.initialDelay = UInt64(restartDelay) * 1_000_000
            pool.restart.maxCrashes = maxCrashes
            pool.restart.crashWindow = UInt64(crashWindow * 1e9)
            var supervisorOptions = SupervisorServer.Options(
                command: workerCommand, pool: pool, stateDirectory: state.path, backend: bound.backend,
                heartbeatMilliseconds: heartbeatInterval, controlEndpoint: state.controlEndpoint)
            supervisorOptions.history = recorder
            if let recorder { supervisorOptions.historyStats = { recorder.stats } }
            supervisorOptions.latestGeneration = run?.latestGeneration ?? pool.generation
            supervisorOptions.sha256 = { try? ExecutableDigest.hexDigest(ofFile: $0) }
            let supervisor = try SupervisorServer(options: supervisorOptions, broker: server, logger: logger)
            relay.connect(supervisor)
            do {
                try supervisor.start()
            } catch {
                logger.error("\(error)")
                server.stop()
                throw ExitCode(2)
            }
            services.append(SupervisorService(supervisor: supervisor))
        }
        services.append(BrokerService(server: server, drainTimeout: UInt64(drainTimeout * 1e9)))
        _ = baton_sd_notify("READY=1\nMAINPID=\(getpid())")
        var configuration = ServiceGroupConfiguration(
            services: [.init(service: signals, successTerminationBehavior: .gracefullyShutdownGroup)]
                + services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
            logger: logger)
        configuration.maximumGracefulShutdownDuration = nil
        let group = ServiceGroup(configuration: configuration)
        try await group.run()
        if let recorder {
            recorder.record(.supervisor(kind: .supervisorStopped, slot: nil, workerID: nil, generation: nil,
                                        detail: nil, at: BatonClock.monotonic()))
            let stats = recorder.close()
            logger.info("history flushed", metadata: [
                "request_rows": "\(stats.requestRows)", "dropped_events": "\(stats.droppedEvents)",
                "failed_batches": "\(stats.failedBatches)",
            ])
        }
        withExtendedLifetime(state) {}
    }

    /// Opens the history database, closes what a dead supervisor left open, and starts the recorder.
    private func openHistory(state: StateDirectory, command: WorkerCommand?, logger: Logger) throws
        -> (HistoryRecorder?, HistoryDatabase.RunStart?)
    {
        guard history else { return (nil, nil) }
        let database = try HistoryDatabase.openForWriting(path: state.databasePath)
        let digest = try command.map { try ExecutableDigest.hexDigest(ofFile: $0.executable) }
        let run = try database.beginRun(executable: command?.executable, arguments: command?.arguments ?? [],
                                        sha256: digest, detail: "pid \(getpid())")
        if run.abandonedRequests > 0 || run.abandonedWorkers > 0 {
            logger.warning("the previous supervisor did not stop cleanly; its open rows are now abandoned",
                           metadata: ["requests": "\(run.abandonedRequests)", "workers": "\(run.abandonedWorkers)"])
        }
        var options = HistoryRecorder.Options()
        options.retention = historyRetention.flatMap(HistoryRetention.init(parsing:))
        return (HistoryRecorder(database: database, options: options, logger: logger), run)
    }

    /// The worker command: COMMAND, or the bundled example worker next to this executable.
    private func resolveCommand() throws -> WorkerCommand {
        var arguments = command
        if arguments.first == "--" { arguments.removeFirst() }
        if let name = arguments.first {
            return try WorkerCommand.resolve(name, arguments: Array(arguments.dropFirst()))
        }
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        let here = URL(fileURLWithPath: executable).deletingLastPathComponent()
        let bundled = here.appendingPathComponent("baton-example-worker").path
        guard WorkerCommand.isExecutableFile(bundled) else {
            throw SupervisorError(.badCommand, "the bundled example worker is not at \(bundled); give a COMMAND")
        }
        return WorkerCommand(executable: bundled, arguments: [])
    }
}
