import ArgumentParser

/// Checks an endpoint flag before anything binds or connects, so a missing `tcp://` is named as such rather
/// than as libzmq's `Invalid argument`.
enum EndpointCheck {
    /// The transports Baton's sockets use.
    static let schemes = ["tcp://", "ipc://", "inproc://"]

    /// Throws a ``ValidationError`` naming the flag if `endpoint` has no known transport.
    static func validate(_ endpoint: String, flag: String) throws {
        guard !schemes.contains(where: { endpoint.hasPrefix($0) && endpoint.count > $0.count }) else { return }
        var text = "\(flag) \(endpoint): an endpoint starts with its transport: tcp://HOST:PORT, ipc:///PATH or "
            + "inproc://NAME"
        if !endpoint.contains("://"), endpoint.contains(":") { text += " (did you mean tcp://\(endpoint)?)" }
        throw ValidationError(text)
    }
}
