import Foundation

/// Where handlers wait until the test lets each one through, by name: handlers that are all inside at once
/// prove they run concurrently, and the order the test opens them in decides the order they finish.
final class Gate: @unchecked Sendable {
    private let condition = NSCondition()
    private var inside: [String] = []
    private var open: Set<String> = []

    /// Called by a handler: waits until `name` is opened; false if that takes more than 15 s (longer than
    /// ``awaitArrivals(_:)`` waits, so handlers that never run together fail that wait first).
    func pass(_ name: String) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        inside.append(name)
        condition.broadcast()
        let deadline = Date().addingTimeInterval(15)
        while !open.contains(name) {
            guard condition.wait(until: deadline) else { return false }
        }
        return true
    }

    /// Waits until `count` handlers have arrived (whether or not they went through); false after 10 s.
    func awaitArrivals(_ count: Int) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(10)
        while inside.count < count {
            guard condition.wait(until: deadline) else { return false }
        }
        return true
    }

    /// The names of the handlers that have arrived, in order.
    var arrivals: [String] {
        condition.lock()
        defer { condition.unlock() }
        return inside
    }

    /// Lets the handler named `name` through (now, or when it arrives).
    func open(_ name: String) {
        condition.lock()
        open.insert(name)
        condition.broadcast()
        condition.unlock()
    }
}
