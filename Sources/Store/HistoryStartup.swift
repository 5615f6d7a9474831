import BatonProtocol
import Foundation
import Logging

/// How a supervisor starts recording: with the database open, or degraded and retrying. History is a record,
/// not a dependency, so nothing about the database stops Baton from serving.
public enum HistoryStartup {
    /// Opens the database, closes what a dead supervisor left open, records the start, and starts the recorder.
    ///
    /// When the database cannot be opened or written (a full disk, a lock, a corrupt file, a newer schema), it
    /// logs at error level what is wrong and what to do, and returns a recorder that is degraded and tries to
    /// open the database on its retry schedule, with numbers that cannot collide with the file's rows: the
    /// generation and request ids continue from what can still be read (without changing the file), or, when
    /// nothing can be read, start from the clock (request ids at the microseconds since 1970, the generation
    /// at the seconds), which are above anything a run that started earlier has used. When the database
    /// opens, that generation is made to exist and active before anything else is written.
    public static func start(path: String, executable: String?, arguments: [String], sha256: String?,
                             detail: String, options: HistoryRecorder.Options, logger: Logger)
        -> (HistoryRecorder, HistoryDatabase.RunStart)
    {
        do {
            let database = try HistoryDatabase.openForWriting(path: path)
            let run = try database.beginRun(executable: executable, arguments: arguments, sha256: sha256,
                                            detail: detail)
            logAbandoned(run, logger: logger)
            return (HistoryRecorder(database: database, options: options, logger: logger), run)
        } catch {
            let run = degradedRun(path: path, executable: executable, arguments: arguments, sha256: sha256)
            let problem = Self.problem(opening: error)
            logger.error("history is degraded, Baton serves without recording for now: \(problem)", metadata: [
                "retry": "after \(options.retryInitialSeconds) s, then up to every \(options.retryMaxSeconds) s",
                "events_kept_in_memory": "up to \(options.maxBacklog)",
            ])
            let opener: HistoryRecorder.Opener = { () throws(StoreError) -> HistoryDatabase in
                let database = try HistoryDatabase.openForWriting(path: path)
                let resumed = try database.beginRun(executable: executable, arguments: arguments, sha256: sha256,
                                                    detail: detail + ", history opened late",
                                                    generation: run.generation)
                if resumed.firstRequestID > run.firstRequestID {
                    logger.error("the history database holds request ids this run also uses; their rows may be wrong",
                                 metadata: ["first_id": "\(run.firstRequestID)",
                                            "file_max": "\(resumed.firstRequestID - 1)"])
                }
                logAbandoned(resumed, logger: logger)
                return database
            }
            let recorder = HistoryRecorder(database: nil, opener: opener, problem: problem, options: options,
                                           logger: logger)
            return (recorder, run)
        }
    }

    /// What `status` and the log say about a database that cannot be opened.
    static func problem(opening error: StoreError) -> String {
        // A file that is not a database says what to do in its own description.
        error.code == .notADatabase ? "cannot open for writing: \(error)"
            : "cannot open for writing: \(error) — \(error.advice)"
    }

    /// The run's numbers without a writable database (see
    /// ``start(path:executable:arguments:sha256:detail:options:logger:)``).
    static func degradedRun(path: String, executable: String?, arguments: [String], sha256: String?)
        -> HistoryDatabase.RunStart
    {
        guard let peek = HistoryPeek.read(path: path) else {
            let now = BatonClock.wall()
            let generation = Int(now / 1_000_000_000)
            return HistoryDatabase.RunStart(generation: executable == nil ? nil : generation,
                                            latestGeneration: generation, firstRequestID: UInt64(now / 1000),
                                            abandonedRequests: 0, abandonedWorkers: 0,
                                            abandonedSessions: 0)
        }
        var generation: Int?
        if let executable, let sha256 {
            let json = String(decoding: (try? JSONEncoder().encode(arguments)) ?? Data("[]".utf8), as: UTF8.self)
            if let latest = peek.latest, latest.executable == executable, latest.arguments == json,
               latest.sha256 == sha256, GenerationState.isReusable(stored: latest.state) {
                generation = latest.id
            } else {
                generation = peek.maxGeneration + 1
            }
        }
        return HistoryDatabase.RunStart(generation: generation,
                                        latestGeneration: max(peek.maxGeneration, generation ?? 0),
                                        firstRequestID: UInt64(peek.maxRequestID) + 1, abandonedRequests: 0,
                                        abandonedWorkers: 0, abandonedSessions: 0)
    }

    private static func logAbandoned(_ run: HistoryDatabase.RunStart, logger: Logger) {
        guard run.abandonedRequests > 0 || run.abandonedWorkers > 0 || run.abandonedSessions > 0 else { return }
        logger.warning("the previous supervisor did not stop cleanly; its open rows are now abandoned",
                       metadata: ["requests": "\(run.abandonedRequests)", "workers": "\(run.abandonedWorkers)",
                                  "sessions": "\(run.abandonedSessions)"])
    }
}
