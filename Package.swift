// swift-tools-version:6.0
import PackageDescription

/// Minions: a multi-agent AI engine speaking JSON-RPC 2.0 over stdio and TCP.
/// No third-party Swift packages: only the toolchain and C system libraries.
let package = Package(
  name: "Minions",
  products: [
    .executable(name: "minions", targets: ["minions"])
  ],
  targets: [
    // C system libraries (Debian: libsqlite3-dev, libcurl4-openssl-dev, libssl-dev, libcrypt-dev).
    .systemLibrary(name: "CSQLite", path: "Sources/CSQLite"),
    .systemLibrary(name: "CCurl", path: "Sources/CCurl"),
    .systemLibrary(name: "CCrypto", path: "Sources/CCrypto"),
    .systemLibrary(name: "CXCrypt", path: "Sources/CXCrypt"),

    // JSON values and codecs, logging, time and thread utilities shared by every layer.
    .target(name: "MinionsCore"),
    // JSON-RPC 2.0 messages, errors and framing; no I/O.
    .target(name: "JSONRPC", dependencies: ["MinionsCore"]),
    // Connections over file descriptors and TCP: reader/writer threads, dispatch, cancellation.
    .target(name: "JSONRPCTransport", dependencies: ["JSONRPC", "MinionsCore"]),
    // SQLite: one connection on its own thread, cached statements, transactions, migrations.
    .target(name: "MinionsStore", dependencies: ["CSQLite", "MinionsCore"]),
    // SHA-256, HMAC, randomness, base64url (libcrypto) and bcrypt (libxcrypt).
    .target(name: "MinionsCrypto", dependencies: ["CCrypto", "CXCrypt", "MinionsCore"]),
    // HTTP over libcurl: streaming bodies as lines and server-sent events, timeouts, cancellation.
    .target(name: "MinionsHTTP", dependencies: ["CCurl", "MinionsCore"]),
    // The domains: security, models, tools, agents, performance, analytics. No JSON-RPC types.
    .target(name: "MinionsEngine", dependencies: ["MinionsStore", "MinionsCrypto", "MinionsHTTP", "MinionsCore"]),
    // The protocol surface: the method table, permissions, error mapping, OpenRPC.
    .target(name: "MinionsServer", dependencies: ["JSONRPC", "JSONRPCTransport", "MinionsEngine", "MinionsCore"]),
    // HTTP mode: the dashboard's files, a WebSocket endpoint that is a JSON-RPC connection, health,
    // Prometheus.
    .target(
      name: "MinionsWeb",
      dependencies: ["MinionsServer", "MinionsEngine", "JSONRPCTransport", "MinionsCrypto", "MinionsCore"]),
    // `minions acp`: the engine as an Agent Client Protocol agent.
    .target(
      name: "MinionsACP",
      dependencies: ["MinionsServer", "MinionsEngine", "JSONRPCTransport", "JSONRPC", "MinionsCrypto", "MinionsCore"]),
    // The executable.
    .executableTarget(
      name: "minions",
      dependencies: [
        "MinionsServer", "MinionsWeb", "MinionsACP", "MinionsEngine", "JSONRPCTransport", "MinionsCore",
      ]),
    // `make bench`.
    .executableTarget(
      name: "MinionsBench",
      dependencies: [
        "MinionsServer", "MinionsEngine", "MinionsCrypto", "JSONRPC", "MinionsCore", "MinionsTestSupport",
      ],
      exclude: ["Peers"]),

    // Helpers shared by the test targets: pipe clients, message readers, engine processes.
    .target(name: "MinionsTestSupport", dependencies: ["JSONRPC", "MinionsCore", "MinionsEngine"]),

    .testTarget(name: "MinionsCoreTests", dependencies: ["MinionsCore", "MinionsTestSupport"]),
    .testTarget(name: "JSONRPCTests", dependencies: ["JSONRPC", "MinionsCore", "MinionsTestSupport"]),
    .testTarget(
      name: "JSONRPCTransportTests", dependencies: ["JSONRPCTransport", "JSONRPC", "MinionsCore", "MinionsTestSupport"]),
    .testTarget(name: "MinionsHTTPTests", dependencies: ["MinionsHTTP", "MinionsCore", "MinionsTestSupport"]),
    .testTarget(
      name: "MinionsModelsTests", dependencies: ["MinionsEngine", "MinionsHTTP", "MinionsCore", "MinionsTestSupport"]),
    .testTarget(
      name: "MinionsCryptoTests", dependencies: ["MinionsCrypto", "MinionsEngine", "MinionsCore", "MinionsTestSupport"]),
    .testTarget(name: "MinionsStoreTests", dependencies: ["MinionsStore", "MinionsCore", "MinionsTestSupport"]),
    .testTarget(
      name: "MinionsEngineTests", dependencies: ["MinionsEngine", "MinionsStore", "MinionsCore", "MinionsTestSupport"]),
    .testTarget(
      name: "MinionsToolsTests",
      dependencies: ["MinionsEngine", "MinionsStore", "MinionsHTTP", "MinionsCore", "MinionsTestSupport"],
      exclude: ["Fixtures"]),
    .testTarget(
      name: "MinionsServerTests",
      dependencies: [
        "MinionsServer", "MinionsEngine", "JSONRPCTransport", "JSONRPC", "MinionsCore", "MinionsTestSupport",
      ]),
    .testTarget(
      name: "MinionsWebTests",
      dependencies: [
        "MinionsWeb", "MinionsServer", "MinionsEngine", "JSONRPCTransport", "MinionsCore", "MinionsTestSupport",
      ]),
    .testTarget(
      name: "EndToEndTests", dependencies: ["JSONRPC", "MinionsCore", "MinionsTestSupport"], exclude: ["Fixtures"]),
  ]
)
