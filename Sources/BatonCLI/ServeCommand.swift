import BatonProtocol
import ArgumentParser
import BatonApp
import Broker
import Foundation
import Logging
import Store
import Supervisor

/// `baton serve`: run the supervisor and its broker.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the supervisor: the broker, and --workers managed copies of COMMAND.",
        usage: "baton serve [<options>] [-- COMMAND [ARGS...]]",
        discussion: """
            With no COMMAND, Baton runs its bundled example worker (baton-example-worker, an echo server). \
            Workers get BATON_BACKEND, BATON_WORKER_ID, BATON_SLOT, BATON_GENERATION, \
            BATON_HEARTBEAT_INTERVAL_MS and BATON_HEARTBEAT_LIVENESS in their environment (docs/workers.md); \
            their stdout and stderr go to STATE_DIR/logs/slot-N.log. With --workers 0 \
            the broker runs alone, for external workers. Every endpoint takes a ZeroMQ endpoint: \
            tcp://HOST:PORT or ipc:///path (abstract socket names are refused: they have no permissions). \
            SIGTERM or SIGINT stops gracefully: queued requests are answered with BATON-ERR shutting-down, \
            in-flight ones get up to --drain-timeout to finish, then workers get SIGTERM and, after \
            --stop-grace, SIGKILL. With --curve-key, tcp endpoints use CURVE, and with a tcp backend workers \
            also get BATON_SERVER_KEY and a key pair (BATON_CLIENT_PUBLIC_KEY, BATON_CLIENT_SECRET_KEY); see \
            docs/security.md.
            """
    )

    @Option(help: "A config file of `key = value` lines setting any of these flags (see deploy/baton.conf); flags given here win.")
    var config: String?

    @Option(help: "Endpoint clients connect to.")
    var frontend = ServeCommand.defaults.frontend

    @Option(help: "Endpoint workers connect to (default: an ipc socket in the state directory).")
    var backend: String?

    @Option(help: "Directory for the lock, ipc sockets and history database.")
    var stateDir = ServeCommand.defaults.stateDirectory

    @Option(help: "Requests the broker queues; at the bound it stops reading clients (back-pressure).")
    var maxQueued = ServeCommand.defaults.broker.maxQueued

    @Option(help: "Seconds a request may wait for a worker before it gets BATON-ERR expired (0: no limit).")
    var queueTimeout = ServeCommand.seconds(ServeCommand.defaults.broker.queueTimeout)

    @Option(help: "Milliseconds between heartbeats to and from heartbeating workers.")
    var heartbeatInterval = ServeCommand.milliseconds(ServeCommand.defaults.broker.heartbeatInterval)

    @Option(help: "Heartbeat intervals a heartbeating worker may stay silent before it is dropped.")
    var heartbeatLiveness = ServeCommand.defaults.broker.heartbeatLiveness

    @Option(help: "Times a request whose worker died is tried on another worker (only for idempotent work).")
    var retryOnCrash = ServeCommand.defaults.broker.retryOnCrash

    @Option(help: "Seconds in-flight requests get to finish on shutdown.")
    var drainTimeout = ServeCommand.seconds(ServeCommand.defaults.drainTimeout)

    @Option(help: "Largest message, in bytes, a client or worker may send.")
    var maxMessageSize = ServeCommand.defaults.maxMessageSize

    @Option(help: "Managed worker processes (slots); 0 runs the broker alone.")
    var workers = ServeCommand.defaults.workers

    @Option(help: "Seconds a request may run before it gets worker-died and its worker counts as hung (0: no limit).")
    var requestTimeout = ServeCommand.seconds(ServeCommand.defaults.broker.requestTimeout)

    @Option(help: "Seconds without a request after which a session ends (0: never).")
    var sessionIdleTimeout = ServeCommand.seconds(ServeCommand.defaults.broker.sessionIdleTimeout)

    @Option(help: "Seconds a worker being replaced without session handoff keeps its sessions before they are lost.")
    var sessionDrainTimeout = ServeCommand.seconds(ServeCommand.defaults.broker.sessionDrainTimeout)

    @Option(help: "Seconds a session's export or import may take during a reload before the session stays put.")
    var handoffTimeout = ServeCommand.seconds(ServeCommand.defaults.broker.handoffTimeout)

    @Option(help: "Sessions open at once; a request that would open another gets BATON-ERR too-many-sessions.")
    var maxSessions = ServeCommand.defaults.broker.maxSessions

    @Option(help: "Seconds between SIGTERM and SIGKILL when a worker is stopped.")
    var stopGrace = ServeCommand.seconds(ServeCommand.defaults.stopGrace)

    @Option(help: """
        Milliseconds before the first restart of a crashed worker; doubles per crash in a row, up to \
        \(ServeCommand.defaults.restart.maxDelay).
        """)
    var restartDelay = ServeCommand.milliseconds(ServeCommand.defaults.restart.initialDelay)

    @Option(help: "Crashes within --crash-window after which a slot is marked failed instead of restarted.")
    var maxCrashes = ServeCommand.defaults.restart.maxCrashes

    @Option(help: "Seconds over which --max-crashes are counted.")
    var crashWindow = ServeCommand.seconds(ServeCommand.defaults.restart.crashWindow)

    @Flag(inversion: .prefixedNo, help: "Record generations, workers and every request in STATE_DIR/baton.sqlite.")
    var history = ServeCommand.defaults.history

    @Option(help: """
        Prune the oldest request history beyond an age (7d, 12h, 30m), a size of used database pages (500MB, \
        2GiB) and/or a row count (1000000), whichever comes first; `none` keeps everything.
        """)
    var historyRetention = ServeCommand.retentionText(ServeCommand.defaults.historyRetention)

    @Option(help: "Size past which a worker's log (logs/slot-N.log) and the supervisor's (logs/baton.log) is rotated: bytes, or with KB, MB, GB, KiB, MiB, GiB; 0: never.")
    var logMaxSize = ServeCommand.byteText(ServeCommand.defaults.logRotation.maxBytes)

    @Option(help: "Rotated log files kept per log (NAME.1 … NAME.N).")
    var logKeep = ServeCommand.defaults.logRotation.keep

    @Option(help: ArgumentHelp("Serve GET /metrics (Prometheus), /healthz and /readyz over HTTP (off by default).",
                               valueName: "host:port"))
    var metrics: String?

    @OptionGroup var security: SecurityOptions

    @OptionGroup var log: LogOptions

    @Argument(parsing: .postTerminator, help: "The worker command and its arguments, after `--`.")
    var command: [String] = []

    /// `--log-max-size` in bytes: a plain number (0: never rotate) or a size with a unit.
    var logMaxBytes: Int64? {
        Int64(logMaxSize).flatMap { $0 >= 0 ? $0 : nil } ?? ByteSize.parse(logMaxSize)
    }

    func validate() throws {
        for (flag, seconds) in [("--queue-timeout", queueTimeout), ("--request-timeout", requestTimeout),
                                ("--drain-timeout", drainTimeout), ("--stop-grace", stopGrace),
                                ("--crash-window", crashWindow), ("--session-idle-timeout", sessionIdleTimeout),
                                ("--session-drain-timeout", sessionDrainTimeout), ("--handoff-timeout", handoffTimeout)]
        where TimeSpan(seconds: seconds) == nil {
            throw ValidationError("\(flag) must be a number of seconds from 0 to \(Int(TimeSpan.maxSeconds))")
        }
        try EndpointCheck.validate(frontend, flag: "--frontend")
        if let backend { try EndpointCheck.validate(backend, flag: "--backend") }
        guard logMaxBytes != nil else {
            throw ValidationError("--log-max-size takes a byte count like 64MiB, 100MB or 1048576")
        }
        guard logKeep >= 0 else { throw ValidationError("--log-keep must not be negative") }
        for (flag, endpoint) in [("--frontend", frontend), ("--backend", backend ?? "")]
        where Self.isAbstractSocket(endpoint) {
            throw ValidationError("\(flag) \(endpoint): an abstract socket name has no permissions, so any local "
                                  + "user could connect; give a socket path in a directory only Baton's user may write")
        }
        guard maxSessions >= 1 else { throw ValidationError("--max-sessions must be at least 1") }
        guard handoffTimeout > 0 else { throw ValidationError("--handoff-timeout must be positive") }
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
        if HistoryRetention(parsing: historyRetention) == nil {
            throw ValidationError("--history-retention takes ages like 7d, 12h, 30m, sizes like 500MB, 2GiB, "
                                  + "row counts, several joined by commas, or none")
        }
        guard restartDelay >= 0 else { throw ValidationError("--restart-delay must not be negative") }
        guard maxCrashes >= 1, crashWindow > 0 else {
            throw ValidationError("--max-crashes must be at least 1 and --crash-window positive")
        }
    }

    func run() async throws {
        // SIGPIPE is already ignored (Baton.main), so a closed log pipe never kills the supervisor.
        let logFile = LogFileTarget()
        let logger = log.makeLogger(label: "baton", file: logFile)
        let application: BatonApplication
        do {
            var configuration = try makeConfiguration()
            try security.apply(to: &configuration, logger: logger)
            configuration.logFile = logFile
            application = BatonApplication(configuration: configuration, logger: logger)
        } catch {
            logger.error("\(error)")
            throw ExitCode(2)
        }
        do {
            try await application.run()
        } catch let error as BatonStartupError {
            logger.error("\(error)")
            throw ExitCode(2)
        }
    }

    /// The application's configuration from these flags (the config file is merged in before parsing).
    func makeConfiguration() throws -> BatonConfiguration {
        var configuration = BatonConfiguration()
        configuration.stateDirectory = stateDir
        configuration.frontend = frontend
        configuration.backend = backend
        configuration.broker.maxQueued = maxQueued
        configuration.broker.queueTimeout = queueTimeout > 0 ? Self.duration(seconds: queueTimeout) : nil
        configuration.broker.heartbeatInterval = Self.duration(milliseconds: heartbeatInterval)
        configuration.broker.heartbeatLiveness = heartbeatLiveness
        configuration.broker.retryOnCrash = retryOnCrash
        configuration.broker.requestTimeout = requestTimeout > 0 ? Self.duration(seconds: requestTimeout) : nil
        configuration.broker.sessionIdleTimeout =
            sessionIdleTimeout > 0 ? Self.duration(seconds: sessionIdleTimeout) : nil
        // validate() has refused seconds that are not a duration, so the `??` fallbacks are never taken.
        configuration.broker.sessionDrainTimeout =
            Self.duration(seconds: sessionDrainTimeout) ?? configuration.broker.sessionDrainTimeout
        configuration.broker.handoffTimeout =
            Self.duration(seconds: handoffTimeout) ?? configuration.broker.handoffTimeout
        configuration.broker.maxSessions = maxSessions
        configuration.maxMessageSize = maxMessageSize
        configuration.drainTimeout = Self.duration(seconds: drainTimeout) ?? configuration.drainTimeout
        configuration.workers = workers
        configuration.command = workers > 0 ? try resolveCommand() : nil
        configuration.stopGrace = Self.duration(seconds: stopGrace) ?? configuration.stopGrace
        configuration.restart.initialDelay = Self.duration(milliseconds: restartDelay)
        configuration.restart.maxCrashes = maxCrashes
        configuration.restart.crashWindow = Self.duration(seconds: crashWindow) ?? configuration.restart.crashWindow
        configuration.history = history
        configuration.logRotation = RotatingLogFile.Policy(maxBytes: logMaxBytes ?? configuration.logRotation.maxBytes,
                                                           keep: logKeep)
        configuration.historyRetention = HistoryRetention(parsing: historyRetention)
        configuration.metrics = metrics
        return configuration
    }

    /// Whether an endpoint is an ipc socket in Linux's abstract namespace (a name starting with `@`).
    static func isAbstractSocket(_ endpoint: String) -> Bool {
        endpoint.hasPrefix("ipc://") && endpoint.dropFirst("ipc://".count).hasPrefix("@")
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
