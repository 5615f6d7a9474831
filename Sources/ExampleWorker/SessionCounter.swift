import BatonWorker
import Foundation
import Synchronization

/// `--session-counter`: each session's state is the number of its requests the worker has seen.
///
/// A session request is answered with one frame, that number in ASCII decimal (this request included); one
/// whose body is the single frame `end` also ends the session. Handoff moves the number: export writes it in
/// ASCII decimal, import reads it back, so the count continues on the new worker.
final class SessionCounter: Sendable {
    /// A handoff step the worker can be told to fail (`--fail-handoff`).
    enum Step: String, CaseIterable, Sendable {
        case export, `import`
    }

    private let counts = Mutex<[[UInt8]: Int]>([:])
    private let failing: Step?
    private let delayMilliseconds: Int

    /// A counter whose `failing` handoff step always fails, and whose export and import each take
    /// `delayMilliseconds`.
    init(failing: Step?, delayMilliseconds: Int) {
        self.failing = failing
        self.delayMilliseconds = delayMilliseconds
    }

    /// Counts a request of `session` and answers with its number; a body of `end` ends the session.
    func reply(session: [UInt8], body: [[UInt8]]) -> WorkerReply {
        let count = counts.withLock { counts in
            counts[session, default: 0] += 1
            return counts[session, default: 0]
        }
        let frames = [Array(String(count).utf8)]
        return body == [Array("end".utf8)] ? .replyAndEndSession(frames) : .reply(frames)
    }

    /// The hooks: with `handoff`, export and import the count; without, only forget it at the end.
    func hooks(handoff: Bool) -> SessionHooks {
        let end: @Sendable ([UInt8]) -> Void = { [self] key in _ = counts.withLock { $0.removeValue(forKey: key) } }
        guard handoff else { return SessionHooks(end: end) }
        return SessionHooks(export: { [self] key in try exportCount(key) },
                            import: { [self] key, state in try importCount(key, state) },
                            end: end)
    }

    private func exportCount(_ key: [UInt8]) throws -> [UInt8] {
        try rehearse(.export)
        guard let count = counts.withLock({ $0[key] }) else { throw CounterError("no session with this key") }
        return Array(String(count).utf8)
    }

    private func importCount(_ key: [UInt8], _ state: [UInt8]) throws {
        try rehearse(.import)
        guard let count = Int(String(decoding: state, as: UTF8.self)), count >= 0 else {
            throw CounterError("the state is not a count")
        }
        counts.withLock { $0[key] = count }
    }

    /// Waits the configured delay, then fails if this step is to fail.
    private func rehearse(_ step: Step) throws {
        if delayMilliseconds > 0 { Thread.sleep(forTimeInterval: Double(delayMilliseconds) / 1000) }
        if failing == step { throw CounterError("\(step.rawValue) fails, as asked (--fail-handoff)") }
    }
}

/// Why the counter refused an export or an import; its text goes to the broker.
struct CounterError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
