import ArgumentParser
import BatonApp
import BatonProtocol
import Broker
import CBatonAccept
import Logging
import Supervisor
import ZeroMQ

/// `baton serve`'s flags for CURVE on tcp and for the bounds on what clients can make Baton hold.
struct SecurityOptions: ParsableArguments {
    @Option(help: "CURVE key pair file (PREFIX.key from `baton keygen`): CURVE on every tcp endpoint.")
    var curveKey: String?

    @Option(help: "Public keys (one Z85 key per line) of workers allowed on a tcp backend; managed workers always are.")
    var authorizedWorkers: String?

    @Option(help: "Public keys of clients allowed on a tcp frontend (default: any client that has the server's public key).")
    var authorizedClients: String?

    @Option(help: "Client connections at once; more are refused (default: what the descriptor limit leaves after a reserve).")
    var maxClients: Int?

    @Option(help: """
        Replies a client's pipe holds; more wait in the broker, and are dropped and counted only if the client \
        takes none for \(BrokerSecurity.defaultNotReadingDeadline).
        """)
    var maxUnreadReplies = Int(BrokerSecurity.defaultMaxUnreadReplies)

    func validate() throws {
        // Each flag is checked on its own here (a config file's lines are): flags that need each other are
        // checked in `apply`.
        if let maxClients, maxClients < 1 { throw ValidationError("--max-clients must be at least 1") }
        guard (1...Int(Int32.max)).contains(maxUnreadReplies) else {
            throw ValidationError("--max-unread-replies must be at least 1")
        }
    }

    /// Raises the descriptor limit, reads the key files and derives the bounds into the configuration's
    /// ``BatonConfiguration/security`` and the managed workers' environment; throws ``InputFailure`` for
    /// a key file that is missing, malformed or not safely owned.
    func apply(to configuration: inout BatonConfiguration, logger: Logger) throws {
        let (frontend, workers) = (configuration.frontend, configuration.workers)
        // Without a backend flag, the backend is an ipc socket in the state directory.
        let backend = configuration.backend ?? "ipc://"
        var resolved = (broker: BrokerSecurity(), workerEnvironment: [String: String]())
        defer {
            configuration.security = resolved.broker
            configuration.workerEnvironment.merge(resolved.workerEnvironment) { $1 }
        }
        let limits = DescriptorUsage.raiseLimit()
        if baton_accept_interposed() == 0 {
            logger.warning("""
                libzmq does not use Baton's accept: a connection beyond the descriptor limit may abort or spin a \
                listener (the baton executable must export accept and accept4)
                """)
        }
        let usage = DescriptorUsage.current()
        let fitting = usage.defaultMaxClients(workers: workers)
        resolved.broker.maxClients = maxClients ?? fitting
        if let maxClients, maxClients > fitting {
            logger.warning("--max-clients is more than the descriptor limit leaves room for", metadata: [
                "max_clients": "\(maxClients)", "fits": "\(fitting)", "descriptor_limit": "\(usage.limit)",
            ])
        }
        logger.debug("descriptor limit", metadata: ["before": "\(limits.before)", "now": "\(limits.after)",
                                                    "max_clients": "\(resolved.broker.maxClients ?? 0)"])
        resolved.broker.maxUnreadReplies = Int32(maxUnreadReplies)
        guard let curveKey else {
            if authorizedWorkers != nil || authorizedClients != nil {
                // Without CURVE no key is checked: refuse rather than run open while the operator thinks not.
                throw InputFailure("--authorized-workers and --authorized-clients need --curve-key")
            }
            return
        }

        let keys = try KeyFiles.readKeyPair(curveKey)
        resolved.broker.curveKeys = keys
        resolved.broker.authorizedClients = try authorizedClients.map(KeyFiles.readAuthorizedKeys)
        resolved.broker.authorizedWorkers = try authorizedWorkers.map(KeyFiles.readAuthorizedKeys) ?? []
        let tcpFrontend = BrokerSecurity.isTCP(frontend)
        let tcpBackend = BrokerSecurity.isTCP(backend)
        if !tcpFrontend && !tcpBackend {
            logger.warning("--curve-key has no effect: no endpoint is tcp (ipc is protected by file permissions)")
        }
        if tcpBackend && workers > 0 {
            // Managed workers get a key pair of this run, authorised on the backend.
            let workerKeys = try CurveKeyPair.generate()
            resolved.broker.authorizedWorkers.insert(workerKeys.publicKey)
            resolved.workerEnvironment = [
                "BATON_SERVER_KEY": keys.publicText,
                "BATON_CLIENT_PUBLIC_KEY": workerKeys.publicText,
                "BATON_CLIENT_SECRET_KEY": workerKeys.secretText,
            ]
        }
        logger.info("CURVE on tcp endpoints", metadata: [
            "server_key": "\(keys.publicText)",
            "clients": "\(tcpFrontend ? (authorizedClients == nil ? "any key" : "authorised keys") : "ipc, no CURVE")",
            "workers": "\(tcpBackend ? "authorised keys" : "ipc, no CURVE")",
        ])
    }
}
