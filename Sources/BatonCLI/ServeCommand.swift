import ArgumentParser
import Broker
import Logging
import ServiceLifecycle
import Supervisor
import UnixSignals

/// `baton serve`: run the supervisor and its broker.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the broker: clients connect to the frontend, workers to the backend.",
        discussion: """
            Every endpoint takes any ZeroMQ endpoint: tcp://HOST:PORT, ipc:///path, ipc://@abstract-name. \
            SIGTERM or SIGINT stops gracefully: queued requests are answered with BATON-ERR shutting-down, \
            in-flight ones get up to --drain-timeout to finish.
            """
    )

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

    @OptionGroup var log: LogOptions

    func validate() throws {
        guard maxQueued >= 1 else { throw ValidationError("--max-queued must be at least 1") }
        guard queueTimeout >= 0 else { throw ValidationError("--queue-timeout must not be negative") }
        guard heartbeatInterval >= 10 else { throw ValidationError("--heartbeat-interval must be at least 10 ms") }
        guard heartbeatLiveness >= 1 else { throw ValidationError("--heartbeat-liveness must be at least 1") }
        guard retryOnCrash >= 0 else { throw ValidationError("--retry-on-crash must not be negative") }
        guard drainTimeout >= 0 else { throw ValidationError("--drain-timeout must not be negative") }
        guard maxMessageSize >= 1 else { throw ValidationError("--max-message-size must be positive") }
    }

    func run() async throws {
        let logger = log.makeLogger(label: "baton")
        let state: StateDirectory
        do {
            state = try StateDirectory(path: stateDir)
        } catch {
            logger.error("\(error)")
            throw ExitCode(2)
        }
        var options = BrokerServer.Options(frontend: frontend, backend: backend ?? state.defaultBackendEndpoint)
        options.policy.maxQueued = maxQueued
        options.policy.queueTimeout = queueTimeout > 0 ? UInt64(queueTimeout * 1e9) : nil
        options.policy.heartbeatInterval = UInt64(heartbeatInterval) * 1_000_000
        options.policy.heartbeatLiveness = heartbeatLiveness
        options.policy.retryOnCrash = retryOnCrash
        options.maxMessageSize = maxMessageSize

        let server = try BrokerServer(options: options, logger: logger)
        let bound: BrokerServer.BoundEndpoints
        do {
            bound = try server.start()
        } catch {
            logger.error("\(error)")
            throw ExitCode(2)
        }
        logger.info("serving", metadata: ["frontend": "\(bound.frontend)", "backend": "\(bound.backend)",
                                          "state_dir": "\(state.path)"])
        let service = BrokerService(server: server, drainTimeout: UInt64(drainTimeout * 1e9), logger: logger)
        let group = ServiceGroup(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
        withExtendedLifetime(state) {}
    }
}
