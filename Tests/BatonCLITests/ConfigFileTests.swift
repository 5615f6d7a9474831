import ArgumentParser
import BatonApp
import Broker
import Foundation
import Store
import Supervisor
import Testing

@testable import BatonCLI

/// What a config file may say is decided by serve's own option table, and every mistake is refused with
/// the file and line and a sentence of Baton's.
@Suite("The config file's keys and values")
struct ConfigFileTests {
    /// What reading `text` as `baton.conf` gives: the flags, or the refusal's text.
    private func read(_ text: String, options: OptionTable = ConfigFile.serveOptions) -> Result<[String], InputFailure> {
        do {
            return .success(try ConfigFile(text: text, path: "baton.conf", options: options).flags)
        } catch let failure as InputFailure {
            return .failure(failure)
        } catch {
            Issue.record("not an InputFailure: \(error)")
            return .failure(InputFailure("\(error)"))
        }
    }

    private func refusal(_ text: String, options: OptionTable = ConfigFile.serveOptions) -> String? {
        guard case .failure(let failure) = read(text, options: options) else { return nil }
        return failure.description
    }

    @Test("an unknown key is refused with its line and the nearest key serve takes")
    func unknownKey() {
        #expect(refusal("workers = 2\nwokers = 3\n") == "baton.conf:2: unknown key 'wokers'; did you mean 'workers'? "
                + "(keys are serve's long option names without `--`: baton help serve)")
        #expect(refusal("# x\n\nzzzzzz = 1\n")?.hasPrefix("baton.conf:3: unknown key 'zzzzzz' (keys are") == true)
        #expect(refusal("help = true\n")?.hasPrefix("baton.conf:1: unknown key 'help'") == true)
    }

    @Test("a value serve rejects is refused with its line: one its type cannot hold, and one serve's checks refuse")
    func badValue() {
        #expect(refusal("workers = lots\n") == "baton.conf:1: The value 'lots' is invalid for '--workers <workers>'")
        #expect(refusal("\nmax-sessions = 0\n") == "baton.conf:2: --max-sessions must be at least 1")
        #expect(refusal("queue-timeout = -1\n")?.hasPrefix("baton.conf:1: ") == true)
    }

    @Test("a key set twice is refused at its second line, naming the first, also when spelt as its negation")
    func duplicateKey() {
        #expect(refusal("workers = 2\n# again\nworkers = 3\n") == "baton.conf:3: workers is set twice (first on line 1)")
        #expect(refusal("history = true\nno-history = true\n") == "baton.conf:2: history is set twice (first on line 1)")
        #expect(refusal("command = /bin/a\ncommand = /bin/b\n") == "baton.conf:2: command is set twice (first on line 1)")
    }

    @Test("an option given true or false, or a flag given anything else, is refused with its line")
    func wrongKindOfValue() {
        #expect(refusal("workers = false\n") == "baton.conf:1: workers takes a value, not true or false")
        #expect(refusal("history = yes\n") == "baton.conf:1: history takes true or false, not 'yes'")
    }

    @Test("true and false turn a flag on and off, under its name or its negation's")
    func flagValues() throws {
        #expect(try read("history = false\n").get() == ["--no-history"])
        #expect(try read("history = true\n").get() == ["--history"])
        #expect(try read("no-history = true\n").get() == ["--no-history"])
        #expect(try read("no-history = false\n").get() == ["--history"])
    }

    /// A flag with no negation (serve has none today) cannot be turned off.
    struct Switches: ParsableCommand {
        @Flag(help: "A switch.") var loud = false
        @Option(help: "A value.") var level = 1
    }

    @Test("a flag with no negation can only be true")
    func flagWithoutNegation() {
        let table = OptionTable(Switches.self)
        #expect(table.entry(named: "loud")?.kind == .flag(negation: nil))
        #expect(refusal("loud = false\n", options: table) == "baton.conf:1: loud can only be true")
    }

    @Test("the option table holds serve's options and flags, those of its option groups included, and no built-ins")
    func optionTable() {
        let table = ConfigFile.serveOptions
        #expect(table.entry(named: "workers")?.kind == .option)
        #expect(table.entry(named: "history")?.kind == .flag(negation: "no-history"))
        #expect(table.entry(named: "no-history")?.name == "history")
        #expect(table.entry(named: "curve-key")?.kind == .option)
        #expect(table.entry(named: "log-level")?.kind == .option)
        #expect(table.entry(named: "help") == nil && table.entry(named: "version") == nil)
        #expect(table.names.count > 30, "\(table.names)")
    }

    @Test("serve with no flags configures exactly the configuration types' defaults")
    func defaultsAgree() throws {
        let configuration = try ServeCommand.parse(["--", "/bin/true"]).makeConfiguration()
        let defaults = BatonConfiguration()
        #expect(configuration.broker == defaults.broker)
        #expect(configuration.broker == BrokerConfiguration())
        #expect(configuration.restart == RestartPolicy())
        #expect(configuration.logRotation == defaults.logRotation)
        #expect(configuration.historyRetention == defaults.historyRetention)
        #expect(configuration.frontend == defaults.frontend)
        #expect(configuration.backend == defaults.backend)
        #expect(configuration.stateDirectory == defaults.stateDirectory)
        #expect(configuration.maxMessageSize == defaults.maxMessageSize)
        #expect(configuration.drainTimeout == defaults.drainTimeout)
        #expect(configuration.stopGrace == defaults.stopGrace)
        #expect(configuration.workers == defaults.workers)
        #expect(configuration.history == defaults.history)
        #expect(configuration.metrics == defaults.metrics)
        #expect(try SecurityOptions.parse([]).maxUnreadReplies == Int(BrokerSecurity().maxUnreadReplies))
    }

    @Test("serve's help shows the defaults the configuration types have")
    func helpShowsDefaults() {
        let table = ConfigFile.serveOptions
        let defaults = BatonConfiguration()
        #expect(table.entry(named: "max-queued")?.defaultValue == "\(defaults.broker.maxQueued)")
        #expect(table.entry(named: "workers")?.defaultValue == "\(defaults.workers)")
        #expect(table.entry(named: "frontend")?.defaultValue == defaults.frontend)
        #expect(table.entry(named: "history-retention")?.defaultValue.flatMap(HistoryRetention.init(parsing:))
                == defaults.historyRetention)
        #expect(table.entry(named: "log-max-size")?.defaultValue.flatMap(ByteSize.parse) == defaults.logRotation.maxBytes)
        #expect(ServeCommand.helpMessage().contains("up to 10s"))
        for client in [CallCommand.self, BenchCommand.self] as [any ParsableArguments.Type] {
            #expect(OptionTable(client).entry(named: "frontend")?.defaultValue == defaults.frontend, "\(client)")
        }
    }

    @Test("retention and sizes written as flags read back as the same values")
    func flagTextRoundTrip() {
        for retention in [HistoryRetention.standard, HistoryRetention(maxAgeSeconds: 90, maxRows: 1000),
                          HistoryRetention(maxAgeSeconds: 12 * 3600), HistoryRetention(maxBytes: 500_000_000)] {
            #expect(HistoryRetention(parsing: ServeCommand.retentionText(retention)) == retention,
                    "\(ServeCommand.retentionText(retention))")
        }
        #expect(ServeCommand.retentionText(nil) == "none")
        for bytes: Int64 in [64 << 20, 1 << 30, 3 << 10, 1_000_000, 1, 0] {
            let text = ServeCommand.byteText(bytes)
            #expect((Int64(text) ?? ByteSize.parse(text)) == bytes, "\(text)")
        }
    }
}
