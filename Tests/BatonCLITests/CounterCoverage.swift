import Synchronization

/// The union of what several reports showed: each leaf, and the largest value it was seen with. Safe from any
/// thread.
final class CounterCoverage: Sendable {
    private let seen = Mutex([String: Double]())

    /// Adds the leaves of one report.
    func record(_ leaves: [String: Double]) {
        seen.withLock { seen in seen.merge(leaves) { max($0, $1) } }
    }

    /// Adds leaves that were never seen with a value (they count as 0 until they are).
    func recordAbsent(_ paths: Set<String>) {
        seen.withLock { seen in for path in paths where seen[path] == nil { seen[path] = 0 } }
    }

    /// Every leaf seen, with its largest value.
    var leaves: [String: Double] { seen.withLock { $0 } }

    /// The leaves never seen other than 0, sorted.
    var neverMoved: [String] { leaves.filter { $0.value == 0 }.keys.sorted() }
}
