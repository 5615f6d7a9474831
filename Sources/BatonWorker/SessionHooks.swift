/// What a worker does with its sessions' state when the broker ends or moves a session (docs/protocol.md, 2.5).
///
/// The handler keeps each session's state, keyed by ``WorkerRequest/session``. The runtime calls these hooks
/// on the handler threads, never on the socket's thread, so heartbeats go on while they run. Hooks and
/// requests of one key never overlap and run in the order the broker sent them; hooks of different keys, and
/// requests of other sessions, may run at the same time (with capacity above 1).
///
/// A worker with ``export`` and ``import`` declares the `handoff` capability in READY, so a rolling update
/// moves its sessions to the new generation with their state. One with only ``end`` keeps its sessions
/// until they end (a reload drains them).
public struct SessionHooks: Sendable {
    /// Returns the state of the session `key` as one opaque blob (it may be empty), or throws to refuse (the
    /// session then stays here). Keep the session: the broker may still send its requests here if the move
    /// fails; ``end`` follows once the state has moved.
    public var export: (@Sendable (_ key: [UInt8]) throws -> [UInt8])?
    /// Takes over the session `key` with a `state` that ``export`` produced (perhaps in an older
    /// generation of the code), or throws to refuse it (the session then stays on the old worker).
    public var `import`: (@Sendable (_ key: [UInt8], _ state: [UInt8]) throws -> Void)?
    /// Forgets the session `key`: it was idle too long, moved to another worker, or ended by a
    /// ``WorkerReply/replyAndEndSession(_:)`` reply. Called for keys this worker may not hold; ignore those.
    public var end: @Sendable (_ key: [UInt8]) -> Void

    /// Hooks for a worker whose sessions can move: `export`, `import` and `end` as described above.
    public init(export: @escaping @Sendable (_ key: [UInt8]) throws -> [UInt8],
                import: @escaping @Sendable (_ key: [UInt8], _ state: [UInt8]) throws -> Void,
                end: @escaping @Sendable (_ key: [UInt8]) -> Void) {
        self.export = export
        self.import = `import`
        self.end = end
    }

    /// Hooks for a worker whose sessions cannot move: it only learns when one ends. EXPORT and IMPORT are
    /// answered with an error, and READY does not declare `handoff`.
    public init(end: @escaping @Sendable (_ key: [UInt8]) -> Void) {
        self.end = end
    }

    /// Whether the worker can export and import sessions (it declares `handoff` in READY).
    public var canHandOff: Bool { export != nil && self.import != nil }
}
