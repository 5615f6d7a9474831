// swift-tools-version: 6.1
import PackageDescription

let upcoming: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "baton",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "baton", targets: ["BatonCLI"]),
        .executable(name: "baton-example-worker", targets: ["ExampleWorker"]),
        .library(name: "BatonWorker", targets: ["BatonWorker"]),
        .library(name: "ZeroMQ", targets: ["ZeroMQ"]),
        .library(name: "Broker", targets: ["Broker"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // <zmq.h> from the system's libzmq (Debian: libzmq3-dev). pkg-config is not used on purpose:
        // Debian's libzmq.pc carries Kerberos -isystem flags that SwiftPM warns about on every build.
        .systemLibrary(
            name: "CZeroMQ",
            providers: [.apt(["libzmq3-dev"]), .brew(["zeromq"])]
        ),
        // Small C helpers for Linux calls Swift's Glibc module does not expose (eventfd, prctl, …).
        .target(name: "CBatonSys"),
        // The `baton` executable's accept4()/accept(), which drop a connection when no descriptor is left
        // (Sources/CBatonAccept/accept.c). Only BatonCLI links it: in a library it would replace libc's accept
        // in every program linking that library (user workers included).
        .target(name: "CBatonAccept", dependencies: ["CBatonSys"]),
        // What peers and modules share, with no I/O: wire constants, history events, the clock, rate limiting.
        .target(name: "BatonProtocol", dependencies: ["CBatonSys"], swiftSettings: upcoming),
        // The one way Baton runs a dedicated thread: a named thread, a command queue, an eventfd wake-up, and
        // waiting for its start and end from threads and from async code.
        .target(name: "ServiceThread", dependencies: ["CBatonSys"], swiftSettings: upcoming),
        .target(
            name: "ZeroMQ",
            dependencies: ["CZeroMQ", "ServiceThread"],
            swiftSettings: upcoming
        ),
        .target(
            name: "Broker",
            dependencies: [
                "BatonProtocol", "ZeroMQ", "CBatonSys", "ServiceThread",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),
        .target(
            name: "Store",
            dependencies: [
                "BatonProtocol", "CBatonSys", "ServiceThread",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: upcoming
        ),
        .target(
            name: "LoadGen",
            dependencies: [
                "ZeroMQ", "BatonProtocol",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: upcoming
        ),
        .target(
            name: "BatonWorker",
            dependencies: ["BatonProtocol", "ZeroMQ", "CBatonSys", .product(name: "Logging", package: "swift-log")],
            swiftSettings: upcoming
        ),
        .executableTarget(
            name: "ExampleWorker",
            dependencies: [
                "BatonWorker", "CBatonSys",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),
        .target(
            name: "Supervisor",
            dependencies: [
                "BatonProtocol", "Broker", "ZeroMQ", "CBatonSys", "ServiceThread",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),
        // `serve --metrics`: the HTTP service for /metrics (Prometheus), /healthz and /readyz (docs/metrics.md).
        .target(
            name: "BatonMetrics",
            dependencies: [
                "BatonProtocol", "Broker", "Supervisor", "Store", "ServiceThread",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: upcoming
        ),
        // The composition root: wires broker, supervisor, recorder and services (what `baton serve` runs).
        .target(
            name: "BatonApp",
            dependencies: [
                "BatonProtocol", "BatonMetrics", "Broker", "Supervisor", "Store", "CBatonSys", "ServiceThread",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: upcoming
        ),
        // Measures the history recorder (docs/benchmarks.md); not installed with Baton.
        .executableTarget(
            name: "HistoryBench",
            dependencies: [
                "Store", "BatonProtocol", .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: upcoming
        ),
        .executableTarget(
            name: "BatonCLI",
            dependencies: [
                "BatonApp", "BatonProtocol", "Broker", "LoadGen", "Supervisor", "Store", "ZeroMQ", "CBatonSys",
                "CBatonAccept",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),
        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ"], swiftSettings: upcoming),
        .testTarget(name: "BatonProtocolTests", dependencies: ["BatonProtocol"], swiftSettings: upcoming),
        .testTarget(name: "ServiceThreadTests", dependencies: ["ServiceThread"], swiftSettings: upcoming),
        .testTarget(name: "BrokerTests", dependencies: [
            "Broker", "BatonProtocol", "ZeroMQ", .product(name: "Logging", package: "swift-log"),
            .product(name: "DequeModule", package: "swift-collections"),
        ], swiftSettings: upcoming),
        .testTarget(name: "SupervisorTests", dependencies: [
            "Supervisor", "BatonProtocol", "Broker", "CBatonSys", "ZeroMQ", .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: upcoming),
        .testTarget(
            name: "BatonWorkerTests",
            dependencies: [
                "BatonWorker", "BatonProtocol", "Broker", "ZeroMQ", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),
        .testTarget(name: "StoreTests", dependencies: [
            "Store", "BatonProtocol", .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: upcoming),
        .testTarget(name: "BatonMetricsTests", dependencies: [
            "BatonMetrics", "BatonProtocol", "Broker", "Supervisor", "Store",
        ], swiftSettings: upcoming),
        .testTarget(name: "BatonAppTests", dependencies: [
            "BatonApp", "Broker", "Supervisor", .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: upcoming),
        .testTarget(
            name: "BatonCLITests",
            dependencies: [
                "BatonCLI", "BatonProtocol", "ZeroMQ", "LoadGen", "Supervisor", "Broker", "Store",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            exclude: ["golden"],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "LoadGenTests",
            dependencies: ["LoadGen", "Broker", "ZeroMQ", .product(name: "Logging", package: "swift-log")],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "ExampleWorkerTests",
            dependencies: ["ExampleWorker", "Broker", "ZeroMQ", .product(name: "Logging", package: "swift-log")],
            swiftSettings: upcoming
        ),
    ],
    swiftLanguageModes: [.v6]
)

// `scripts/fuzz` builds the libFuzzer targets (Fuzz/, docs/fuzzing.md) with BATON_FUZZ=1 in a scratch path of
// their own, so the ordinary build never sees them or the sanitizer flags.
if Context.environment["BATON_FUZZ"] != nil {
    package.targets += [
        .target(name: "CBatonFuzz", path: "Fuzz/CBatonFuzz"),
        .executableTarget(
            name: "BatonFuzz",
            dependencies: [
                "BatonProtocol", "Broker", "Supervisor", "BatonMetrics", "CBatonFuzz",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Fuzz/BatonFuzz",
            swiftSettings: upcoming
        ),
    ]
    package.products += [.executable(name: "baton-fuzz", targets: ["BatonFuzz"])]
}
