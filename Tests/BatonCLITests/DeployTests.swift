import BatonProtocol
import ArgumentParser
import Foundation
import Supervisor
import Testing

@testable import BatonCLI

@Suite("Config files and systemd integration", .serialized, .timeLimit(.minutes(2)))
struct DeployTests {
    @Test("a config file becomes flags, command-line flags win, and the file's command is used unless one is given")
    func configExpansion() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/baton.conf"
        try """
            # comment
            workers = 8
            history = false
            history-retention = 7d,1000
            command = /opt/game/server --map "big arena" --name it\\'s
            """.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try ConfigFile.expand(["baton", "serve", "--config", path, "--workers", "2"]) == [
            "baton", "serve", "--workers=8", "--no-history", "--history-retention=7d,1000", "--workers", "2", "--",
            "/opt/game/server", "--map", "big arena", "--name", "it's",
        ])
        #expect(try ConfigFile.expand(["baton", "serve", "--config=\(path)", "--", "/bin/other"]).suffix(2)
                == ["--", "/bin/other"])
        #expect(try ConfigFile.expand(["baton", "status"]) == ["baton", "status"])
        try "workers 8\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: InputFailure.self) { try ConfigFile.expand(["baton", "serve", "--config", path]) }
    }

    @Test("the example config in deploy/ parses")
    func exampleConfig() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../deploy/baton.conf").standardizedFileURL.path
        let file = try ConfigFile(text: try String(contentsOfFile: path, encoding: .utf8), path: path)
        #expect(file.flags.contains("--workers=8"))
        #expect(file.flags.contains("--metrics=127.0.0.1:9750"))
        #expect(file.command.first == "/opt/game/current/bin/match-server")
    }

    @Test("serve reads a config file, and tells systemd READY, RELOADING, READY and STOPPING")
    func systemdNotify() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socket = directory + "/notify"
        let listener = try Child.python("notify_listener.py", [socket], name: "notify", directory: directory)
        defer { listener.signal(SIGKILL) }
        #expect(listener.waitForOutput("listening"))
        try """
            frontend = ipc://\(directory)/fe
            state-dir = \(directory)/state
            workers = 1
            command = \(Harness.exampleWorkerPath)
            """.write(toFile: directory + "/baton.conf", atomically: true, encoding: .utf8)
        let serve = try Child(Harness.batonPath, ["serve", "--config", directory + "/baton.conf"], name: "serve",
                              directory: directory, environment: ["NOTIFY_SOCKET": socket])
        #expect(listener.waitForOutput("READY=1 MAINPID=\(serve.process.processIdentifier)"), "\(serve.output)")
        let (status, output) = try runBaton(["reload", "--state-dir", directory + "/state"], directory: directory)
        #expect(status == 0, "\(output)")
        #expect(listener.waitForOutput("RELOADING=1"))
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0)
        #expect(listener.waitForOutput("STOPPING=1"))
        let lines = listener.output.split(separator: "\n").map(String.init)
        #expect(lines.filter { $0.hasPrefix("READY=1") }.count == 2, "\(lines)")
    }
}

@Suite("The systemd unit's timeouts")
struct DeployTimeoutTests {
    func deployFile(_ name: String) throws -> String {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../deploy/\(name)").standardizedFileURL.path
        return try String(contentsOfFile: path, encoding: .utf8)
    }

    @Test("the start timeout, which systemd also gives ExecReload, fits the longest reload deploy/baton.conf allows")
    func reloadFitsTheTimeout() throws {
        let unit = try deployFile("baton.service").split(separator: "\n").map(String.init)
        func value(_ key: String) throws -> String {
            try #require(unit.first { $0.hasPrefix(key + "=") }).dropFirst(key.count + 1).description
        }
        let conf = try ConfigFile(text: try deployFile("baton.conf"), path: "baton.conf")
        let serve = try ServeCommand.parse(conf.flags)
        let reloadArguments = try value("ExecReload").split(separator: " ").dropFirst(2).map(String.init)
        let reload = try ReloadCommandLine.parse(reloadArguments)
        var pool = PoolConfiguration(workers: serve.workers, runID: "r")
        pool.sessionDrainTimeout = try #require(TimeSpan(seconds: serve.sessionDrainTimeout))
        var options = ReloadOptions()
        options.readyTimeout = try #require(TimeSpan(seconds: reload.readyTimeout))
        options.drainTimeout = try #require(TimeSpan(seconds: reload.drainTimeout))
        let longest = pool.longestReload(options).seconds
        #expect(longest == 2970, "(8 + 1) × (30 + max(60, 300)), as the unit's comment says")
        let timeout = try #require(Double(try value("TimeoutStartSec")))
        #expect(timeout >= longest, "TimeoutStartSec=\(timeout) must fit a reload of up to \(longest) s")
    }
}
