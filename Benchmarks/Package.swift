// swift-tools-version: 6.1
// Micro-benchmarks, kept in their own package so that `swift test` of Keyflare never builds them.
// Run with `make bench SUITE=verify` (or `swift package --disable-sandbox benchmark` here).
import PackageDescription

let package = Package(
    name: "KeyflareBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named explicitly: otherwise the name comes from the clone's folder.
        .package(name: "keyflare", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
    ],
    targets: [
        .executableTarget(
            name: "Verify",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "KeyflareCore", package: "keyflare"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Benchmarks/Verify",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
