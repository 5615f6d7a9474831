import BatonProtocol

@testable import Broker

/// A walk whose events come from bytes (a libFuzzer input or a corpus file) rather than from a seed.
extension SessionWalk {
    /// Plays a script: the first byte chooses the settings, the second the share of faults, the third when the
    /// broker shuts down (never if 255); every further 8 bytes seed one ``step(_:)``. Ends with
    /// ``endScript(_:)``, so a request left unanswered is a violation.
    static func play(script bytes: [UInt8]) -> SessionWalk {
        var script = ByteScript(bytes)
        let settings = script.byte()
        var walk = SessionWalk { configure(&$0, settings) }
        walk.faultPercent = [2, 10, 30, 60][script.below(4)]
        let shutdownAt = Int(script.byte())
        var rng = SplitMix(state: 0)
        var step = 0
        while !script.isAtEnd && walk.violations.isEmpty {
            if step == shutdownAt * 4 { walk.shutDown() }
            rng.state = script.word()
            walk.step(&rng)
            step += 1
        }
        if walk.violations.isEmpty { walk.endScript(&rng) }
        return walk
    }

    /// Stops, lets workers answer, fails what is left in flight at the drain timeout; then every request must
    /// have had its one reply.
    mutating func endScript(_ rng: inout SplitMix) {
        if !core.stopping { shutDown() }
        for _ in 0..<20 { replyInFlight(&rng) }
        run("drain timeout at shutdown") { $0.failInFlight(reason: "drain timeout", now: $1, into: &$2) }
        if !outstanding.isEmpty { violation("\(outstanding.count) requests never answered") }
    }

    /// Settings the script's first byte turns on, each a bit: timeouts short enough for a walk to reach.
    static func configure(_ configuration: inout BrokerConfiguration, _ bits: UInt8) {
        if bits & 1 != 0 { configuration.requestTimeout = .seconds(2) }
        if bits & 2 != 0 { configuration.queueTimeout = .milliseconds(500) }
        if bits & 4 != 0 { configuration.maxSessions = 3 }
        if bits & 8 != 0 { configuration.handoffTimeout = .seconds(1) }
        if bits & 16 != 0 { configuration.sessionIdleTimeout = .seconds(3) }
        if bits & 32 != 0 { configuration.sessionDrainTimeout = .seconds(4) }
        if bits & 64 != 0 { configuration.maxMessageBytes = 48 }
        if bits & 128 != 0 { configuration.retryOnCrash = 1 }
    }
}
