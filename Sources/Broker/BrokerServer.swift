import BatonProtocol
import Foundation
import Logging
import ServiceThread
import ZeroMQ

/// The broker's I/O: one dedicated thread that owns the frontend and backend ROUTER sockets and feeds a
/// ``BrokerCore``.
///
/// Other threads talk to it only through commands (``stats()``, ``shutdown(drainTimeout:)``, ``stop()``) that
/// wake its poll through an eventfd; no socket is touched outside its thread.
public final class BrokerServer: Sendable {
    /// Where and how the broker listens.
    public struct Options: Sendable {
        /// Frontend endpoint, for clients (any ZeroMQ endpoint; `tcp://127.0.0.1:*` picks a free port).
        public var frontend: String
        /// Backend endpoint, for workers.
        public var backend: String
        /// The state machine's policy.
        public var policy = BrokerConfiguration()
        /// Largest message accepted from a peer, in bytes; a peer that sends more is disconnected.
        public var maxMessageSize: Int64 = 16 << 20
        /// How many messages one poll wake-up may take from each socket.
        public var batch = 64
        /// Where history events go (with `policy.recordHistory`); must never block.
        public var history: (any HistorySink)?
        /// The first request id to use (ids continue across runs so history rows stay unique).
        public var firstRequestID: UInt64 = 1
        /// Called on the broker thread for worker events (ready, lost, hung, drained); must return quickly.
        public var observer: (@Sendable (WorkerEvent) -> Void)?
        /// CURVE on tcp endpoints, authorised keys, and the bounds on clients and unread replies.
        public var security = BrokerSecurity()

        /// Creates options for the given endpoints with default policy.
        public init(frontend: String, backend: String) {
            self.frontend = frontend
            self.backend = backend
        }
    }

    /// The endpoints actually bound (with real ports for `tcp://…:*`).
    public struct BoundEndpoints: Sendable, Equatable {
        /// Frontend endpoint.
        public let frontend: String
        /// Backend endpoint.
        public let backend: String
    }

    enum Command: Sendable {
        case stats(@Sendable (BrokerStats) -> Void)
        case workers(@Sendable ([WorkerSummary]) -> Void)
        case processStarted(worker: WorkerID, generation: GenerationID?)
        case preferSessions(generation: GenerationID?)
        case resume(worker: WorkerID)
        case snapshot(@Sendable (BrokerSnapshot) -> Void)
        case status(@Sendable (BrokerStatus) -> Void)
        case processEnded(worker: WorkerID, reason: WorkerLossReason)
        case drain(worker: WorkerID, successor: WorkerID?)
        case shutdown(drainTimeout: TimeSpan, done: @Sendable () -> Void)
        case stop
    }

    /// The options it was created with.
    public let options: Options
    let logger: Logger
    let context: Context
    /// The `baton-broker` thread, its command queue and the eventfd that wakes its poll.
    let thread: ServiceThread<Command>

    /// Creates a broker; nothing is bound until ``start()``.
    public init(options: Options, logger: Logger) throws(BrokerError) {
        self.options = options
        self.logger = logger
        do {
            context = try Context()
        } catch {
            throw BrokerError(.zeroMQ, error)
        }
        thread = ServiceThread(name: "baton-broker")
    }

    /// Starts the broker thread and returns once both sockets are bound, or throws why they could not be.
    @discardableResult
    public func start() throws(BrokerError) -> BoundEndpoints {
        let outcome: Result<BoundEndpoints, BrokerError>
        do {
            outcome = try thread.start { [self] started in
                var loop = BrokerLoop(server: self)
                loop.run(started: started)
                context.terminate()
            }
        } catch where error.code == .startedTwice {
            throw BrokerError(.notRunning, "start called twice")
        } catch {
            throw BrokerError(.system, error.description, errno: error.errno)
        }
        return try outcome.get()
    }

    /// Returns a snapshot of the broker's counters.
    public func stats() async throws(BrokerError) -> BrokerStats {
        guard let result = await thread.ask(Command.stats) else { throw BrokerError(.notRunning, "stats") }
        return result
    }

    /// Returns a snapshot of the broker's counters, blocking the calling thread (not for async code).
    public func statsBlocking() throws(BrokerError) -> BrokerStats {
        guard let result = thread.askBlocking(Command.stats) else { throw BrokerError(.notRunning, "stats") }
        return result
    }

    /// A snapshot of the workers the broker knows, blocking the calling thread (not for async code).
    public func workersBlocking() throws(BrokerError) -> [WorkerSummary] {
        guard let result = thread.askBlocking(Command.workers) else { throw BrokerError(.notRunning, "workers") }
        return result
    }

    /// Tells the broker the supervisor started a process for this worker id: if the worker is ever dropped as
    /// hung, the broker ignores it until ``workerProcessEnded(_:reason:)`` (external workers are taken back
    /// by their late reply instead).
    public func workerProcessStarted(_ worker: WorkerID, generation: GenerationID? = nil) {
        _ = send(.processStarted(worker: worker, generation: generation))
    }

    /// Undoes ``drainWorker(_:successor:)``: the worker takes requests again (a reload was rolled back).
    public func resumeWorker(_ worker: WorkerID) {
        _ = send(.resume(worker: worker))
    }

    /// New sessions open on workers of `generation` while a rolling update to it runs (nil: anywhere).
    public func preferSessions(onGeneration generation: GenerationID?) {
        _ = send(.preferSessions(generation: generation))
    }

    /// Tells the broker a worker's process has ended, so it stops waiting for that worker at once.
    public func workerProcessEnded(_ worker: WorkerID, reason: WorkerLossReason) {
        _ = send(.processEnded(worker: worker, reason: reason))
    }

    /// Stops giving a worker requests; the observer hears ``WorkerEvent/drained(worker:)`` once it
    /// holds none. Its sessions move to `successor` when both can hand them off (docs/protocol.md 2.5).
    public func drainWorker(_ worker: WorkerID, successor: WorkerID? = nil) {
        _ = send(.drain(worker: worker, successor: successor))
    }

    /// Graceful stop: answer queued requests, and every request still read from ZeroMQ's queues, with
    /// `shutting-down`; wait up to `drainTimeout` for in-flight requests to be answered (those
    /// that are not get `worker-died`), then close and return.
    public func shutdown(drainTimeout: TimeSpan) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            if !send(.shutdown(drainTimeout: drainTimeout, done: { continuation.resume() })) {
                continuation.resume()
            }
        }
        await waitUntilStopped()
    }

    /// Immediate stop: close the sockets (unanswered requests are dropped) and wait for the thread to end.
    public func stop() {
        if send(.stop) { thread.waitUntilFinishedBlocking() }
    }

    /// Waits until the broker thread has ended.
    public func waitUntilStopped() async {
        await thread.waitUntilFinished()
    }

    /// Queues a command for the broker thread; `false` if it is not running.
    func send(_ command: Command) -> Bool {
        thread.send(command)
    }
}


/// What the broker knows about one worker, for status displays.
public struct WorkerSummary: Sendable, Equatable {
    /// The worker.
    public let id: WorkerID
    /// Whether it is serving a request.
    public let busy: Bool
    /// Replies it has delivered.
    public let served: UInt64
    /// Whether it uses heartbeats.
    public let heartbeating: Bool
    /// Requests it holds now.
    public let inFlight: Int
    /// Requests it may hold at once (1 unless its READY declared more).
    public let capacity: Int
    /// Whether the supervisor started its process (false: it connected on its own).
    public let managed: Bool
    /// Sessions it holds now.
    public let sessions: Int
}
