import CZeroMQ

/// The ZeroMQ socket patterns Baton uses.
public enum SocketType: Sendable {
    case pair, req, rep, dealer, router, pub, sub, push, pull

    var raw: Int32 {
        switch self {
        case .pair: ZMQ_PAIR
        case .req: ZMQ_REQ
        case .rep: ZMQ_REP
        case .dealer: ZMQ_DEALER
        case .router: ZMQ_ROUTER
        case .pub: ZMQ_PUB
        case .sub: ZMQ_SUB
        case .push: ZMQ_PUSH
        case .pull: ZMQ_PULL
        }
    }
}
