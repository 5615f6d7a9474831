import Foundation
import Testing

/// Runs the real `baton` binary and third-party peers as child processes, bounded in time.
enum Harness {
    /// The `baton` executable built alongside the tests.
    static let batonPath: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        var directory = URL(fileURLWithPath: exe).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("baton").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../.build/debug/baton")
            .standardizedFileURL.path
    }()

    /// Directory of the Python peers.
    static let peersDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../peers").standardizedFileURL.path

    /// A fresh short temporary directory (ipc paths must stay under 107 bytes).
    static func temporaryDirectory() throws -> String {
        var template = Array("/tmp/bt-XXXXXX".utf8CString)
        guard let path = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw CocoaError(.fileWriteUnknown)
        }
        return String(cString: path)
    }
}

/// A child process whose output is collected into a file, killed if still running when dropped.
final class Child {
    let process = Process()
    let outputPath: String
    let name: String

    /// Runs `executable`; its standard output and error go to the file at ``outputPath``, or where
    /// `standardOutput` and `standardError` say; its standard input is /dev/null or `standardInput`.
    init(_ executable: String, _ arguments: [String], name: String, directory: String,
         environment: [String: String] = [:], standardInput: FileHandle? = nil, standardOutput: FileHandle? = nil,
         standardError: FileHandle? = nil) throws {
        self.name = name
        outputPath = directory + "/\(name).log"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = standardOutput ?? output
        process.standardError = standardError ?? output
        process.standardInput = standardInput ?? FileHandle.nullDevice
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        try process.run()
    }

    static func baton(_ arguments: [String], name: String = "baton", directory: String) throws -> Child {
        try Child(Harness.batonPath, arguments, name: name, directory: directory)
    }

    static func python(_ script: String, _ arguments: [String], name: String, directory: String) throws -> Child {
        try Child("/usr/bin/env", ["python3", Harness.peersDirectory + "/" + script] + arguments, name: name,
                  directory: directory)
    }

    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    /// Waits for the process to exit, up to `seconds`; returns its status, or nil if it is still running.
    @discardableResult
    func wait(seconds: Double = 20) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// Waits until the output contains `text`, up to `seconds`.
    func waitForOutput(_ text: String, seconds: Double = 20) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if output.contains(text) { return true }
            if !process.isRunning { return output.contains(text) }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return false
    }

    func signal(_ signal: Int32) {
        if process.isRunning { kill(process.processIdentifier, signal) }
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// Runs `baton` to completion and returns (status, output).
func runBaton(_ arguments: [String], directory: String, seconds: Double = 30) throws -> (Int32?, String) {
    let child = try Child.baton(arguments, name: "run-\(UUID().uuidString.prefix(8))", directory: directory)
    let status = child.wait(seconds: seconds)
    return (status, child.output)
}

/// `baton serve` on ipc endpoints in a temporary directory, without managed workers, started and serving.
enum ServedBroker {
    static func start(in directory: String, _ extra: [String] = []) throws -> (Child, frontend: String, backend: String) {
        let frontend = "ipc://\(directory)/fe"
        let backend = "ipc://\(directory)/be"
        let serve = try Child.baton(["serve", "--frontend", frontend, "--backend", backend,
                                     "--state-dir", directory + "/state", "--workers", "0"] + extra,
                                    directory: directory)
        #expect(serve.waitForOutput("serving"), "\(serve.output)")
        return (serve, frontend, backend)
    }
}
