import Foundation

/// Runs jobs on up to `limit` threads of its own, so the socket thread never waits on a handler.
///
/// Threads start as jobs need them and stay for the pool's life. Jobs that carry a key run one at a time per
/// key, in the order they were submitted (a session's requests and hooks never overlap); jobs without a key,
/// and jobs of different keys, run concurrently. Each job's outcome is kept for ``takeFinished()`` and
/// `notify` is called after each one, until ``close()``. A blocking job holds its thread until it returns; an
/// async job is started from a thread as a task and holds none while it awaits (its key stays taken until it
/// ends).
final class HandlerPool<Outcome: Sendable>: @unchecked Sendable {
    /// What a job runs.
    enum Work {
        /// A function that holds its thread until it returns.
        case blocking(@Sendable () -> Outcome)
        /// A function run as a task.
        case async(@Sendable () async -> Outcome)
    }

    private struct Job {
        let key: [UInt8]?
        /// The request's token, for a job that serves a request (it can be withdrawn before it starts).
        let token: [UInt8]?
        let work: Work
    }

    // Everything below `condition` is guarded by it.
    private let condition = NSCondition()
    private var queue: [Job] = []
    private var runningKeys: Set<[UInt8]> = []
    private var finished: [Outcome] = []
    private var threads = 0
    private var idle = 0
    private var closed = false

    private let limit: Int
    private let name: String
    private let notify: @Sendable () -> Void

    /// A pool of at most `limit` threads named `name`; `notify` is called after each job (under the pool's lock:
    /// it must be quick and must not call the pool).
    init(limit: Int, name: String, notify: @escaping @Sendable () -> Void) {
        self.limit = max(limit, 1)
        self.name = name
        self.notify = notify
    }

    /// Queues `work`; with a `key`, it starts only after every earlier job of that key has finished. A job
    /// with a `token` serves that request, and ``withdrawUnstarted()`` can take it back until it starts.
    func submit(key: [UInt8]?, token: [UInt8]? = nil, _ work: Work) {
        condition.lock()
        queue.append(Job(key: key, token: token, work: work))
        let spawn = !closed && queue.count > idle && threads < limit
        if spawn { threads += 1 }
        condition.broadcast()
        condition.unlock()
        if spawn { startThread() }
    }

    /// The outcomes of the jobs finished since the last call, in the order they finished.
    func takeFinished() -> [Outcome] {
        condition.lock()
        defer { condition.unlock() }
        let outcomes = finished
        finished.removeAll(keepingCapacity: true)
        return outcomes
    }

    /// Takes every queued request job that has not started out of the queue (they will never run); returns
    /// their tokens, in the order they were submitted.
    func withdrawUnstarted() -> [[UInt8]] {
        condition.lock()
        defer { condition.unlock() }
        let tokens = queue.compactMap(\.token)
        queue.removeAll { $0.token != nil }
        return tokens
    }

    /// Queues a blocking job (see ``submit(key:token:_:)``).
    func submit(key: [UInt8]?, token: [UInt8]? = nil, _ work: @escaping @Sendable () -> Outcome) {
        submit(key: key, token: token, .blocking(work))
    }

    /// Drops the queued jobs and lets every thread end once its current job (if any) returns; jobs that end
    /// after this no longer call `notify`.
    func close() {
        condition.lock()
        closed = true
        queue.removeAll()
        condition.broadcast()
        condition.unlock()
    }

    private func startThread() {
        let thread = Thread { [self] in serve() }
        thread.name = name
        thread.start()
    }

    private func serve() {
        condition.lock()
        while !closed {
            guard let index = queue.firstIndex(where: { job in job.key.map { !runningKeys.contains($0) } ?? true })
            else {
                idle += 1
                condition.wait()
                idle -= 1
                continue
            }
            let job = queue.remove(at: index)
            if let key = job.key { runningKeys.insert(key) }
            condition.unlock()
            switch job.work {
            case .blocking(let work):
                finish(key: job.key, work())
            case .async(let work):
                Task { [self] in finish(key: job.key, await work()) }
            }
            condition.lock()
        }
        threads -= 1
        condition.unlock()
    }

    /// A job of `key` ended with `outcome`: keeps it, frees the key and notifies (unless the pool is closed).
    private func finish(key: [UInt8]?, _ outcome: Outcome) {
        condition.lock()
        defer { condition.unlock() }
        if let key {
            runningKeys.remove(key)
            condition.broadcast()  // a later job of this key may wait for a thread that is idle
        }
        finished.append(outcome)
        if !closed { notify() }
    }
}
