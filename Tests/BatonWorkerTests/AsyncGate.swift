import Foundation
import Synchronization

/// Where `async` handlers wait, holding no thread, until the test lets each one through by name: handlers that
/// are all inside at once prove they run concurrently, and the order the test opens them in decides the order
/// they finish.
final class AsyncGate: Sendable {
    private struct State {
        var inside: [String] = []
        var open: Set<String> = []
        var waiting: [String: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    /// Called by a handler: returns once `name` is opened.
    func pass(_ name: String) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let isOpen = state.withLock { state in
                state.inside.append(name)
                if state.open.contains(name) { return true }
                state.waiting[name] = continuation
                return false
            }
            if isOpen { continuation.resume() }
        }
    }

    /// Waits until `count` handlers have arrived (polled every 5 ms); false after 60 s (the handlers are tasks
    /// on the concurrency pool, which the suites beside these tests may keep busy a while).
    func awaitArrivals(_ count: Int) -> Bool {
        let deadline = Date().addingTimeInterval(60)
        while state.withLock({ $0.inside.count }) < count {
            guard Date() < deadline else { return false }
            Thread.sleep(forTimeInterval: 0.005)
        }
        return true
    }

    /// Lets the handler named `name` through (now, or when it arrives).
    func open(_ name: String) {
        let waiting = state.withLock { state in
            state.open.insert(name)
            return state.waiting.removeValue(forKey: name)
        }
        waiting?.resume()
    }
}

/// Runs `body` on a thread of its own and returns what it returns: a test that blocks on sockets then leaves
/// Swift's concurrency pool (two threads here) free for the `async` handlers it tests.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}
