import Foundation

/// Polls `condition` until it holds or `timeout` passes; returns how long it took, or nil.
func eventually(
    timeout: Duration, every interval: Duration = .milliseconds(2), _ condition: () async throws -> Bool
) async rethrows -> Duration? {
    let clock = ContinuousClock()
    let start = clock.now
    while clock.now - start < timeout {
        if try await condition() { return clock.now - start }
        try? await Task.sleep(for: interval)
    }
    return try await condition() ? clock.now - start : nil
}
