import Foundation
import KeyflareCore
import Logging

/// A swift-log handler that writes one JSON object per line:
/// `{"ts":"…","level":"info","label":"keyflare","message":"…", <metadata>}`.
public struct JSONLogHandler: LogHandler {
    /// Where lines go.
    public typealias Sink = @Sendable (String) -> Void

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let label: String
    private let sink: Sink

    /// - Parameters:
    ///   - label: the logger's label.
    ///   - sink: receives each finished line (without the newline); defaults to standard error.
    public init(label: String, sink: @escaping Sink = JSONLogHandler.standardError) {
        self.label = label
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var object: [String: Any] = [
            "ts": RFC3339.format(Date()),
            "level": event.level.rawValue,
            "label": label,
            "message": "\(event.message)",
        ]
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        for (key, value) in merged where object[key] == nil {
            object[key] = Self.unpack(value)
        }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]),
            let line = String(data: data, encoding: .utf8)
        else { return }
        sink(line)
    }

    private static func unpack(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let s): s
        case .stringConvertible(let s): s.description
        case .array(let a): a.map(unpack)
        case .dictionary(let d): d.mapValues(unpack)
        }
    }

    /// Writes a line to standard error, whole.
    public static let standardError: Sink = { line in
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
