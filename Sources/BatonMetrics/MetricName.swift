import Prometheus

/// Every metric family Baton exposes on `/metrics`, with its type and help text (docs/metrics.md lists the
/// same table).
public enum MetricName: String, Sendable, CaseIterable {
    /// Requests answered, by `outcome`.
    case requests = "baton_requests_total"
    /// Answers that did not reach their client, by `reason`.
    case repliesDropped = "baton_replies_dropped_total"
    /// Receipt-to-answer time (histogram).
    case requestDuration = "baton_request_duration_seconds"
    /// Time in the broker's queue before the first dispatch (histogram).
    case queueWait = "baton_queue_wait_seconds"
    /// Requests queued now.
    case queueDepth = "baton_queue_depth"
    /// Requests with a worker now.
    case inFlight = "baton_requests_in_flight"
    /// Sessions open now.
    case sessionsOpen = "baton_sessions_open"
    /// Sessions opened.
    case sessionsOpened = "baton_sessions_opened_total"
    /// Session handoffs by `result`.
    case sessionHandoffs = "baton_session_handoffs_total"
    /// How long a moving session's requests were held (histogram).
    case handoffPause = "baton_session_handoff_pause_seconds"
    /// Slots by `state`.
    case workers = "baton_workers"
    /// Worker restarts by `reason`.
    case restarts = "baton_worker_restarts_total"
    /// Rolling reloads by `result`.
    case reloads = "baton_reloads_total"
    /// Rolling reload time (histogram).
    case reloadDuration = "baton_reload_duration_seconds"
    /// The active generation and its digest, as labels.
    case generationInfo = "baton_generation_info"
    /// History events dropped.
    case historyDropped = "baton_history_dropped_events_total"
    /// History batches not written.
    case historyFailedWrites = "baton_history_failed_writes_total"
    /// Malformed messages by `socket`.
    case malformed = "baton_malformed_messages_total"
    /// Connections to the metrics endpoint by how they ended (`outcome`).
    case httpConnections = "baton_metrics_http_connections_total"
    /// Connections to the metrics endpoint open now.
    case httpConnectionsOpen = "baton_metrics_http_connections_open"
    /// CPU time of the process.
    case cpuSeconds = "process_cpu_seconds_total"
    /// Start time of the process.
    case startTime = "process_start_time_seconds"
    /// Resident memory of the process.
    case residentMemory = "process_resident_memory_bytes"
    /// Virtual memory of the process.
    case virtualMemory = "process_virtual_memory_bytes"
    /// Open file descriptors.
    case openFDs = "process_open_fds"
    /// The file descriptor limit.
    case maxFDs = "process_max_fds"

    /// The Prometheus type: `counter`, `gauge` or `histogram`.
    public var type: String {
        switch self {
        case .requests, .repliesDropped, .restarts, .reloads, .historyDropped, .historyFailedWrites, .malformed,
             .cpuSeconds, .sessionsOpened, .sessionHandoffs, .httpConnections:
            "counter"
        case .requestDuration, .queueWait, .reloadDuration, .handoffPause:
            "histogram"
        case .queueDepth, .inFlight, .sessionsOpen, .workers, .generationInfo, .startTime, .residentMemory, .virtualMemory,
             .openFDs, .maxFDs, .httpConnectionsOpen:
            "gauge"
        }
    }

    /// The `# HELP` text.
    public var help: String {
        switch self {
        case .requests: "Requests answered, by outcome: replied (by a worker) or the BATON-ERR code."
        case .repliesDropped: "Answers dropped before reaching their client, by reason: not-reading or client-gone."
        case .requestDuration: "Time from receipt to the answer (reply or BATON-ERR), in seconds."
        case .queueWait: "Time a request waited in the broker's queue before its first dispatch, in seconds."
        case .queueDepth: "Requests waiting in the broker's queue."
        case .inFlight: "Requests being served by a worker."
        case .sessionsOpen: "Sessions open (sticky to a worker)."
        case .sessionsOpened: "Sessions opened."
        case .sessionHandoffs: "Sessions moved to another worker during a reload, by result: moved or failed."
        case .handoffPause: "Time a moving session's requests were held during its handoff, in seconds."
        case .workers: "Worker slots by state (starting, ready, backoff, failed, stopping, stopped)."
        case .restarts: "Worker restarts by reason: crashed, hung, or spawn-failed."
        case .reloads: "Rolling reloads by result: succeeded, rolled-back, or refused."
        case .reloadDuration: "Duration of rolling reloads (succeeded or rolled back), in seconds."
        case .generationInfo: "The active generation of the worker code and its executable's SHA-256 (value 1)."
        case .historyDropped: "History events dropped because the recorder's backlog was full."
        case .historyFailedWrites: "History batches whose database write failed."
        case .malformed: "Malformed messages dropped, by socket: frontend (clients) or backend (workers)."
        case .httpConnections:
            "Connections to this endpoint by outcome: answered, refused (400, 431), evicted, timed-out, client-closed."
        case .httpConnectionsOpen: "Connections to this endpoint open now (at most 32)."
        case .cpuSeconds: "Total user and system CPU time spent by the baton process, in seconds."
        case .startTime: "Start time of the baton process since the Unix epoch, in seconds."
        case .residentMemory: "Resident memory size of the baton process, in bytes."
        case .virtualMemory: "Virtual memory size of the baton process, in bytes."
        case .openFDs: "Open file descriptors of the baton process."
        case .maxFDs: "Maximum number of open file descriptors of the baton process."
        }
    }

    /// The name and help for swift-prometheus' registry.
    var descriptor: MetricNameDescriptor { MetricNameDescriptor(metricName: rawValue, unitName: "", helpText: help) }
}
