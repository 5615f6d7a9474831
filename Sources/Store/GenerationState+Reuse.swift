import BatonProtocol

extension GenerationState {
    /// Whether a supervisor that starts the latest generation's command again (same executable, arguments and
    /// digest) takes that generation again rather than creating the next one: any generation but a failed one.
    public var isReusable: Bool {
        switch self {
        case .failed: false
        case .active, .rolling, .retired: true
        }
    }

    /// ``isReusable`` for a `generation.state` as stored; text that names no state is not reused.
    static func isReusable(stored text: String?) -> Bool {
        text.flatMap(GenerationState.init(rawValue:))?.isReusable ?? false
    }
}
