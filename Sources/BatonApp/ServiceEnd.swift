import ServiceLifecycle

/// Runs a service built around a thread: waits until the thread ends; when a graceful shutdown begins first,
/// asks the thread to finish (`onShutdown`), and when the service is cancelled, to stop at once (`onCancel`).
/// Returns once the thread has ended.
func runUntilEnded(_ ended: @escaping @Sendable () async -> Void, onShutdown: @escaping @Sendable () async -> Void,
                   onCancel: @escaping @Sendable () -> Void) async {
    await withTaskGroup(of: Void.self) { group in
        group.addTask { await ended() }
        group.addTask {
            do {
                try await gracefulShutdown()
                await onShutdown()
            } catch {
                // Cancelled: the service group is tearing down, or the thread already ended (harmless then).
                onCancel()
            }
        }
        await group.next()
        group.cancelAll()
    }
}
