import BatonProtocol

/// The backend connection a worker's messages come on, as far as the broker knows, to tie a closed
/// connection to the worker (see ``BrokerCore/connectionClosed(_:now:into:)``).
public enum WorkerConnection: Sendable, Equatable {
    /// Not known (the backend is not monitored).
    case unknown
    /// The connection with this file descriptor carried its last message.
    case open(Int32)
    /// That connection closed at this monotonic time, and nothing came from the worker since.
    case closed(at: Instant)

    /// The connection a message came on: its file descriptor, or nil (or -1) when that is not known.
    init(_ descriptor: Int32?) {
        if let descriptor, descriptor >= 0 { self = .open(descriptor) } else { self = .unknown }
    }
}
