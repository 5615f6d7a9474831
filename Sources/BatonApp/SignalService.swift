import CBatonSys
import Foundation
import ServiceLifecycle

/// Turns SIGTERM and SIGINT into a graceful shutdown of the service group.
///
/// The handlers are installed by ``install()`` as the very first thing `serve` does, so a signal that
/// arrives while it is still starting (before the services run) is not lost and does not kill the process:
/// it is remembered, and the group shuts down gracefully as soon as it runs. The service returns when a
/// signal has arrived, and the group is configured to shut down gracefully when it does.
struct SignalService: Service {
    let eventfd: Int32

    /// Installs the handlers; returns the service that waits for them.
    static func install() throws -> SignalService {
        let fd = baton_eventfd()
        guard fd >= 0, baton_install_termination_handler(fd, 0) == 0 else {
            throw CocoaError(.featureUnsupported)
        }
        return SignalService(eventfd: fd)
    }

    func run() async throws {
        // Ends on a signal, on a graceful shutdown, and on cancellation (a group torn down for another reason
        // must not wait here forever).
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    Thread.detachNewThread {
                        var item = pollfd(fd: eventfd, events: Int16(POLLIN), revents: 0)
                        while poll(&item, 1, -1) < 0 && errno == EINTR {}
                        continuation.resume()
                    }
                }
            } onGracefulShutdown: {
                _ = baton_eventfd_signal(eventfd)
            }
        } onCancel: {
            _ = baton_eventfd_signal(eventfd)
        }
    }
}
