/// A request handler as the caller gave it to ``WorkerRuntime``: a plain function or an `async` one.
enum RequestHandler: Sendable {
    /// Runs on a handler thread, which it holds until it returns.
    case blocking(@Sendable (WorkerRequest) throws -> WorkerReply)
    /// Runs as a task on Swift's concurrency pool; it holds no thread while it awaits.
    case async(@Sendable (WorkerRequest) async throws -> WorkerReply)
}
