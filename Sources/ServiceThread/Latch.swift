#if canImport(Glibc)
import Glibc
#endif

/// A one-way gate: once opened it stays open, and every thread waiting on it (or waiting later) goes through.
/// What ``ServiceThread`` blocks a caller on while a thread starts, answers or ends.
final class Latch: @unchecked Sendable {
    // Allocated once so that their addresses never move; guarded by `mutex` itself.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var isOpen = false

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Opens the latch (safe from any thread, more than once).
    func open() {
        pthread_mutex_lock(mutex)
        isOpen = true
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Blocks the calling thread until the latch is open; never call it from a cooperative-pool thread.
    func wait() {
        pthread_mutex_lock(mutex)
        while !isOpen { pthread_cond_wait(condition, mutex) }
        pthread_mutex_unlock(mutex)
    }
}
