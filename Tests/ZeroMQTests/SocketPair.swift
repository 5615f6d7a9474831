import ZeroMQ

/// Runs `body` with a ROUTER bound to `endpoint` and a DEALER connected to it (with `routingID` if given),
/// both with linger 0, closed afterwards, in a context of their own.
func withSocketPair(bind endpoint: String = "tcp://127.0.0.1:*", routingID: [UInt8]? = nil,
                    _ body: (_ router: Socket, _ dealer: Socket) throws -> Void) throws {
    let context = try Context()
    defer { context.terminate() }
    let router = try Socket(context, .router)
    let dealer = try Socket(context, .dealer)
    defer {
        router.close()
        dealer.close()
    }
    router.linger = 0
    dealer.linger = 0
    try router.bind(endpoint)
    if let routingID { try dealer.setRoutingID(routingID) }
    try dealer.connect(try router.lastEndpoint())
    try body(router, dealer)
}
