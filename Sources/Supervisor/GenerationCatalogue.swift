import BatonProtocol

/// The command of each generation of the worker code this supervisor has run or is rolling to.
///
/// Generation numbers only grow, across supervisor runs too (the history database gives the latest used).
public struct GenerationCatalogue: Sendable, Equatable {
    private var commands: [GenerationID: WorkerCommand]
    /// The highest generation number used so far.
    public private(set) var latest: GenerationID

    /// A catalogue holding the generation the supervisor starts with.
    public init(current: GenerationID, command: WorkerCommand, latestUsed: GenerationID) {
        commands = [current: command]
        latest = max(latestUsed, current)
    }

    /// The command of a generation, if it is known.
    public func command(of generation: GenerationID) -> WorkerCommand? { commands[generation] }

    /// Takes the next generation number (a reload, or an attempt at one that fails before it starts).
    public mutating func next() -> GenerationID {
        latest = latest.next
        return latest
    }

    /// Records a generation's command.
    public mutating func register(_ generation: GenerationID, command: WorkerCommand) {
        commands[generation] = command
    }
}
