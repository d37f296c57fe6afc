// swift-tools-version: 6.1
import PackageDescription

/// What every integration test target (one per area) depends on.
let integrationTestDependencies: [Target.Dependency] = [
    "KeyflareTestSupport", "KeyflareWeb", "PQ", "PQServices", "KeyflareCore", "KeyflareStore", "KeyflareHTTP",
    "KeyflareServer",
    .product(name: "HummingbirdTesting", package: "hummingbird"),
    .product(name: "Logging", package: "swift-log"),
    .product(name: "CompressNIO", package: "compress-nio"),
    .product(name: "NIOCore", package: "swift-nio"),
    .product(name: "HTTPTypes", package: "swift-http-types"),
    .product(name: "Crypto", package: "swift-crypto"),
]

let package = Package(
    name: "keyflare",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "keyflare", targets: ["keyflare"]),
        .library(name: "PQ", targets: ["PQ"]),
        .library(name: "PQServices", targets: ["PQServices"]),
        .library(name: "KeyflareCore", targets: ["KeyflareCore"]),
        .library(name: "KeyflareStore", targets: ["KeyflareStore"]),
        .library(name: "KeyflareHTTP", targets: ["KeyflareHTTP"]),
        .library(name: "KeyflareServer", targets: ["KeyflareServer"]),
        .library(name: "KeyflareWeb", targets: ["KeyflareWeb"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        // Webhook deliveries: the outbound HTTP client (timeouts, no redirects, streamed bodies).
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        // Build time only: the ResourceEmbedder reads openapi.yaml with it; nothing at run time does.
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        // libpq through pkg-config; `make` installs libpq-dev and pkg-config when missing.
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        // The thin libpq surface: connection, query, row, errors, codecs. Nothing long-lived.
        .target(name: "PQ", dependencies: ["CLibPQ"]),
        // What lives as long as the process, built on PQ: the connection pool and the LISTEN
        // connection, each a swift-service-lifecycle Service.
        .target(
            name: "PQServices",
            dependencies: [
                "PQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "KeyflareCore",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "KeyflareStore",
            dependencies: [
                "PQ",
                "PQServices",
                "KeyflareCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            plugins: ["EmbedMigrations"]
        ),
        // Build-time tool: migrations/*.sql into KeyflareStore as `Migration.embedded`, and
        // openapi.yaml into KeyflareHTTP as `OpenAPIDocument.json`.
        .executableTarget(name: "ResourceEmbedder", dependencies: [.product(name: "Yams", package: "Yams")]),
        .plugin(name: "EmbedMigrations", capability: .buildTool(), dependencies: ["ResourceEmbedder"]),
        .plugin(name: "EmbedOpenAPI", capability: .buildTool(), dependencies: ["ResourceEmbedder"]),
        .target(
            name: "KeyflareHTTP",
            dependencies: [
                // Not KeyflareStore: the routes take KeyflareCore's protocols, and the composition
                // passes the stores and the database error mapping in.
                "KeyflareCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            plugins: ["EmbedOpenAPI"]
        ),
        // The composition: configuration, the object graph and the lifecycle services of an instance.
        .target(
            name: "KeyflareServer",
            dependencies: [
                "PQ",
                "PQServices",
                "KeyflareCore",
                "KeyflareStore",
                "KeyflareHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .target(
            name: "KeyflareWeb",
            dependencies: [
                "PQServices",
                "KeyflareCore",
                "KeyflareStore",
                "KeyflareHTTP",
                "KeyflareServer",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "keyflare",
            dependencies: [
                "KeyflareWeb",
                "PQ",
                "PQServices",
                "KeyflareCore",
                "KeyflareStore",
                "KeyflareHTTP",
                "KeyflareServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(name: "PQTests", dependencies: ["PQ"]),
        .testTarget(name: "PQServicesTests", dependencies: ["PQ", "PQServices"]),
        .testTarget(name: "KeyflareCoreTests", dependencies: ["KeyflareCore"]),
        .testTarget(name: "KeyflareServerTests", dependencies: ["KeyflareCore", "KeyflareServer"]),
        .testTarget(
            name: "KeyflareHTTPTests",
            dependencies: [
                "KeyflareHTTP",
                // ErrorMiddlewareTests throw PQError through storage's real mapping; nothing here connects.
                "PQ",
                "KeyflareStore",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .testTarget(
            name: "KeyflareWebTests",
            dependencies: [
                "KeyflareWeb",
                "KeyflareStore",
                .product(name: "Mustache", package: "swift-mustache"),
            ]
        ),
        // What every integration target shares: a migrated database per test, an application on it,
        // real `keyflare` processes, a fault-injecting TCP proxy. A library, not a test target, so
        // the areas below can share it; they `@testable import` it (debug builds, as `swift test`
        // makes, allow that), so that its helpers need not all be public.
        .target(
            name: "KeyflareTestSupport",
            dependencies: [
                "KeyflareWeb",
                "PQ",
                "PQServices",
                "KeyflareCore",
                "KeyflareStore",
                "KeyflareHTTP",
                "KeyflareServer",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/Support"
        ),
        .testTarget(name: "PQIntegrationTests", dependencies: integrationTestDependencies),
        .testTarget(name: "StorageTests", dependencies: integrationTestDependencies),
        .testTarget(name: "APITests", dependencies: integrationTestDependencies),
        .testTarget(name: "ConsoleIntegrationTests", dependencies: integrationTestDependencies),
        .testTarget(name: "CLITests", dependencies: integrationTestDependencies),
    ]
)
