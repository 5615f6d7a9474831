import CBatonSys
import Foundation
import ServiceLifecycle
import ServiceThread

/// Turns SIGTERM and SIGINT into a graceful shutdown of the service group.
///
/// The handlers are installed by ``install()`` as the very first thing `serve` does, so a signal that
/// arrives while it is still starting (before the services run) is not lost and does not kill the process:
/// it is remembered, and the group shuts down gracefully as soon as it runs. The service returns when a
/// signal has arrived, and the group is configured to shut down gracefully when it does.
struct SignalService: Service {
    /// The `baton-signals` thread: it waits on its eventfd, which the handlers signal, and then ends.
    let thread: ServiceThread<Never>

    /// Installs the handlers; returns the service that waits for them.
    static func install() throws -> SignalService {
        let thread = ServiceThread<Never>(name: "baton-signals")
        try thread.start {
            while !thread.waitForWake(timeoutMilliseconds: -1) {}  // only a wake-up ends it, not EINTR
        }
        guard baton_install_termination_handler(thread.wakeDescriptor, 0) == 0 else {
            thread.wakeUp()
            throw CocoaError(.featureUnsupported)
        }
        return SignalService(thread: thread)
    }

    func run() async throws {
        // Ends on a signal, on a graceful shutdown, and on cancellation (a group torn down for another reason
        // must not wait here forever).
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await thread.waitUntilFinished()
            } onGracefulShutdown: {
                thread.wakeUp()
            }
        } onCancel: {
            thread.wakeUp()
        }
    }
}
