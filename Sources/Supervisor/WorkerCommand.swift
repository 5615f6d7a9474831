import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The command a slot runs: an executable resolved to an absolute path, and its arguments.
public struct WorkerCommand: Sendable, Equatable, Codable {
    /// Absolute path of the executable.
    public let executable: String
    /// Arguments after the executable.
    public let arguments: [String]

    /// Creates a command from a resolved path.
    public init(executable: String, arguments: [String]) {
        self.executable = executable
        self.arguments = arguments
    }

    /// Resolves `name` as a shell would (a path if it contains `/`, else a search of `PATH`) and checks that
    /// it is an executable file. Throws a ``SupervisorError`` that names the command otherwise.
    public static func resolve(_ name: String, arguments: [String],
                               path: String? = ProcessInfo.processInfo.environment["PATH"])
        throws(SupervisorError) -> WorkerCommand
    {
        guard !name.isEmpty else { throw SupervisorError(.badCommand, "the worker command is empty") }
        let candidates: [String]
        if name.contains("/") {
            candidates = [URL(fileURLWithPath: name).standardizedFileURL.path]
        } else {
            candidates = (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").map { "\($0)/\(name)" }
        }
        for candidate in candidates where isExecutableFile(candidate) {
            return WorkerCommand(executable: candidate, arguments: arguments)
        }
        if name.contains("/"), FileManager.default.fileExists(atPath: candidates[0]) {
            throw SupervisorError(.badCommand, "worker command \(candidates[0]) is not an executable file")
        }
        throw SupervisorError(.badCommand, "worker command '\(name)' not found" + (name.contains("/") ? "" : " in PATH"))
    }

    /// Whether a path is a regular file this process may execute.
    public static func isExecutableFile(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return false }
        return access(path, X_OK) == 0
    }

    /// The command as one line, for logs.
    public var display: String { ([executable] + arguments).joined(separator: " ") }
}
