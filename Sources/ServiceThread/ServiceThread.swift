import CBatonSys
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One dedicated, named thread that runs an owner's blocking loop, and the one way other threads and async code
/// talk to it.
///
/// - **Start:** ``start(_:)`` creates the thread (named as `ps -T` and `top -H` show it), runs the owner's body
///   on it and returns what the body reports once it is ready to serve (sockets bound, say), or throws if the
///   thread could not be created or the body ended without reporting.
/// - **Commands:** ``send(_:)`` queues a command under a mutex and signals an eventfd, ``wakeDescriptor``, that
///   the loop polls beside its own sockets (or waits on with ``waitForWake(timeoutMilliseconds:)``); the loop
///   takes every queued command in the order they were sent with ``takeCommands()``.
/// - **End:** the loop calls ``closeQueue()`` to refuse further commands and answer what is left; when the body
///   returns the thread is finished, ``waitUntilFinished()`` returns (without holding a cooperative-pool thread)
///   and ``send(_:)`` returns false.
/// - **Asking:** ``ask(_:)`` sends a command that carries a reply closure and awaits the reply.
///
/// A command is refused (``send(_:)`` returns false) before ``start(_:)`` unless the thread was created with
/// `queuesBeforeStart`, and after ``closeQueue()`` or the end of the body. The loop must answer every command
/// that carries a reply, including those ``closeQueue()`` hands back: a command left unanswered leaves its asker
/// waiting.
public final class ServiceThread<Command: Sendable>: Sendable {
    /// Where the thread is in its life.
    public enum Phase: Sendable, Equatable {
        /// Not started yet.
        case idle
        /// Its body runs.
        case running
        /// Its body has returned (or the thread never started).
        case finished
    }

    struct State: ~Copyable {
        var phase = Phase.idle
        /// Whether ``send(_:)`` queues commands.
        var accepting: Bool
        var commands: [Command] = []
        var finishWaiters: [CheckedContinuation<Void, Never>] = []
        var blockedWaiters: [Latch] = []
    }

    /// The thread's name (at most 15 bytes are shown by the kernel).
    public let name: String
    private let state: Mutex<State>
    /// The wake-up eventfd, created by the start (-1 before).
    private let wake = Atomic<Int32>(-1)

    /// Creates the thread's queue; the thread and its wake-up eventfd come with ``start(_:)``.
    ///
    /// With `queuesBeforeStart`, commands sent before the start wait for the loop instead of being refused.
    public init(name: String, queuesBeforeStart: Bool = false) {
        self.name = name
        state = Mutex(State(accepting: queuesBeforeStart))
    }

    deinit {
        let fd = wake.load(ordering: .relaxed)
        if fd >= 0 { close(fd) }
    }

    /// The eventfd the loop polls for commands: readable while commands (or a ``wakeUp()``) wait. The loop clears
    /// it with ``takeCommands()`` (or ``clearWake()``). Valid from the start on.
    public var wakeDescriptor: Int32 { wake.load(ordering: .acquiring) }

    /// Where the thread is in its life.
    public var phase: Phase { state.withLock { $0.phase } }

    /// Starts the thread and runs `body` on it; returns what the body passes to its `started` argument, which it
    /// must call once (when it is ready to serve, or with why it cannot), before it settles into its loop.
    ///
    /// Blocks the caller until then. Throws when the thread cannot be created, when it was started before, or
    /// when the body returns without calling `started` (the thread is then finished).
    public func start<Outcome: Sendable>(
        _ body: @escaping @Sendable (_ started: (Outcome) -> Void) -> Void
    ) throws(ServiceThreadError) -> Outcome {
        let outcome = Mutex<Outcome?>(nil)
        let ready = Latch()
        try launch {
            body { value in
                outcome.withLock { $0 = value }
                ready.open()
            }
            ready.open()
        }
        ready.wait()
        guard let value = outcome.withLock({ $0 }) else {
            throw ServiceThreadError(.endedBeforeStarting, thread: name)
        }
        return value
    }

    /// Starts the thread and runs `body` on it, without waiting for it to report anything.
    public func start(_ body: @escaping @Sendable () -> Void) throws(ServiceThreadError) {
        try launch(body)
    }

    /// Creates the detached thread that names itself, runs `body` and then finishes.
    private func launch(_ body: @escaping @Sendable () -> Void) throws(ServiceThreadError) {
        let claimed = state.withLock { state -> Bool in
            guard state.phase == .idle else { return false }
            state.phase = .running
            state.accepting = true
            return true
        }
        guard claimed else { throw ServiceThreadError(.startedTwice, thread: name) }
        let fd = baton_eventfd()
        guard fd >= 0 else {
            let code = errno
            finish()
            throw ServiceThreadError(.wakeDescriptor, thread: name, errno: code)
        }
        wake.store(fd, ordering: .releasing)
        let entry = Unmanaged.passRetained(ThreadEntry { [self] in
            baton_set_thread_name(name)
            body()
            finish()
        }).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { argument in
            Unmanaged<ThreadEntry>.fromOpaque(argument!).takeRetainedValue().body()
            return nil
        }, entry)
        guard result == 0 else {
            Unmanaged<ThreadEntry>.fromOpaque(entry).release()
            finish()
            throw ServiceThreadError(.threadCreation, thread: name, errno: result)
        }
        pthread_detach(thread)
        // Commands queued before the start are waiting: make sure the loop looks.
        if state.withLock({ !$0.commands.isEmpty }) { wakeUp() }
    }

    /// Marks the thread finished: refuses commands, lets every waiter go.
    private func finish() {
        let (waiters, blocked) = state.withLock { state in
            state.phase = .finished
            state.accepting = false
            defer {
                state.finishWaiters = []
                state.blockedWaiters = []
            }
            return (state.finishWaiters, state.blockedWaiters)
        }
        for latch in blocked { latch.open() }
        for waiter in waiters { waiter.resume() }
    }

    /// Queues a command for the loop and wakes it; false (and the command is dropped) when commands are refused.
    @discardableResult
    public func send(_ command: Command) -> Bool {
        let queued = state.withLock { state -> Bool in
            guard state.accepting else { return false }
            state.commands.append(command)
            return true
        }
        if queued { wakeUp() }
        return queued
    }

    /// Wakes the loop without a command (it finds ``takeCommands()`` empty); safe from any thread.
    public func wakeUp() {
        let fd = wakeDescriptor
        if fd >= 0 { _ = baton_eventfd_signal(fd) }
    }

    /// Clears the wake-up (on the thread's own loop).
    public func clearWake() { _ = baton_eventfd_drain(wakeDescriptor) }

    /// Clears the wake-up and takes every queued command, oldest first (on the thread's own loop).
    public func takeCommands() -> [Command] {
        clearWake()
        return state.withLock { state in
            guard !state.commands.isEmpty else { return [] }
            defer { state.commands.removeAll() }
            return state.commands
        }
    }

    /// Refuses every later command and returns those still queued, for the loop to answer before it returns.
    public func closeQueue() -> [Command] {
        state.withLock { state in
            state.accepting = false
            defer { state.commands = [] }
            return state.commands
        }
    }

    /// Waits on the thread's own loop until a command or ``wakeUp()`` arrives or `timeoutMilliseconds` pass
    /// (-1: no limit); true when woken. The wake-up stays set until ``takeCommands()`` or ``clearWake()``.
    @discardableResult
    public func waitForWake(timeoutMilliseconds: Int32) -> Bool {
        var item = pollfd(fd: wakeDescriptor, events: Int16(POLLIN), revents: 0)
        let ready = poll(&item, 1, timeoutMilliseconds)
        return ready == 1 && item.revents & Int16(POLLIN) != 0
    }

    /// Waits until the thread has finished (at once if it never started), without holding a cooperative-pool
    /// thread.
    public func waitUntilFinished() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let pending = state.withLock { state -> Bool in
                guard state.phase == .running else { return false }
                state.finishWaiters.append(continuation)
                return true
            }
            if !pending { continuation.resume() }
        }
    }

    /// Blocks the calling thread until the thread has finished (at once if it never started); not for async
    /// code, and never from the thread itself.
    public func waitUntilFinishedBlocking() {
        let latch = Latch()
        let running = state.withLock { state -> Bool in
            guard state.phase == .running else { return false }
            state.blockedWaiters.append(latch)
            return true
        }
        if running { latch.wait() }
    }

    /// Sends the command `make` builds around a reply closure and awaits the reply; nil when the command is
    /// refused. The loop must call the reply exactly once.
    public func ask<Answer: Sendable>(
        _ make: (@escaping @Sendable (Answer) -> Void) -> Command
    ) async -> Answer? {
        await withCheckedContinuation { (continuation: CheckedContinuation<Answer?, Never>) in
            if !send(make({ continuation.resume(returning: $0) })) { continuation.resume(returning: nil) }
        }
    }

    /// Like ``ask(_:)``, blocking the calling thread (not for async code, and never from the thread itself).
    public func askBlocking<Answer: Sendable>(
        _ make: (@escaping @Sendable (Answer) -> Void) -> Command
    ) -> Answer? {
        let answer = Mutex<Answer?>(nil)
        let answered = Latch()
        guard send(make({ value in
            answer.withLock { $0 = value }
            answered.open()
        })) else { return nil }
        answered.wait()
        return answer.withLock { $0 }
    }
}

/// What a new thread runs, passed through `pthread_create`'s argument.
private final class ThreadEntry {
    let body: @Sendable () -> Void

    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}
