import KeyflareCore
import Logging

/// Installs the process-wide log handler once, at start-up, from the configuration.
public enum LoggingSetup {
    /// Bootstraps swift-log with text or JSON lines on standard error (stdout stays free for
    /// command output such as `account create`'s JSON).
    /// - Parameters:
    ///   - configuration: supplies `logFormat` and `logLevel`.
    public static func bootstrap(_ configuration: KeyflareConfiguration) {
        let level = Logger.Level(rawValue: configuration.logLevel) ?? .info
        switch configuration.logFormat {
        case .json:
            LoggingSystem.bootstrap { label in
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        case .text:
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}
