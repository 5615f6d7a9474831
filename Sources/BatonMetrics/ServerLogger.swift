import FlyingSocks
import Logging

/// Sends the HTTP server's log lines to swift-log at trace and debug level: a scrape, a closed connection and
/// the cancellation that ends the server are routine; ``MetricsService`` logs a failure of the server itself.
struct ServerLogger: FlyingSocks.Logging {
    let logger: Logger

    func logDebug(_ debug: @autoclosure () -> String) { logger.trace("\(debug())") }
    func logInfo(_ info: @autoclosure () -> String) { logger.trace("\(info())") }
    func logWarning(_ warning: @autoclosure () -> String) { logger.debug("\(warning())") }
    func logError(_ error: @autoclosure () -> String) { logger.debug("\(error())") }
    func logCritical(_ critical: @autoclosure () -> String) { logger.debug("\(critical())") }
}
