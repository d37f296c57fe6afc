import Foundation

// libFuzzer target for the syslog parser (SyslogParser.json): any bytes must become events or be
// refused with a KeyflareError, never crash or hang. The first byte picks the dialect and whether
// the event and output limits are small; the rest is the body. What is accepted must keep its
// promises: 1 to maxEvents events within the output limit, JSON that IngestBatch.parse takes with
// exactly that many events, and a timestamp on an event only where RFC3339 reads it.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSyslog(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let options = data[0]
    let body = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    let dialect: SyslogParser.Dialect = options & 1 == 0 ? .heroku : .rfc5424
    let maxEvents = options & 2 == 0 ? IngestBatch.maxEvents : 3
    let limit = options & 4 == 0 ? IngestBatch.maxBodyBytes : 2048
    do {
        let result = try SyslogParser.json(from: body, dialect: dialect, maxEvents: maxEvents, limit: limit)
        precondition(result.events >= 1 && result.events <= maxEvents, "event count out of bounds")
        precondition(result.skipped >= 0 && result.json.count <= limit, "output over its limit")
        let batch = try result.json.withUnsafeBytes { try IngestBatch.parse($0, receivedAt: Date(timeIntervalSince1970: 1)) }
        precondition(batch.shape == .array && batch.count == result.events, "the JSON holds another number of events")
        let scanned = try result.json.withUnsafeBytes { try IngestScanner.scan($0, maxEvents: maxEvents) }
        for token in scanned.timestamps {
            switch token {
            case nil: break
            case .string(let text)?: precondition(RFC3339.parse(text) != nil, "a timestamp RFC3339 does not read: \(text)")
            default: preconditionFailure("a timestamp that is not a string")
            }
        }
        // JSONSerialization refuses numbers past Double (1e400) that a message's JSON may hold.
        if let events = try? JSONSerialization.jsonObject(with: Data(result.json)) as? [[String: Any]] {
            precondition(events.count == result.events)
            for event in events {
                let metadata = event["metadata"] as? [String: Any]
                precondition((metadata?["priority"] as? Int).map { (0...191).contains($0) } == true, "no priority")
                precondition(metadata?["message_raw"] is String, "no message_raw")
                precondition((event["event_message"] == nil) == (metadata?["message_text"] == nil), "event_message without message_text")
            }
        }
    } catch is KeyflareError {
        // Refused with a message for the client: fine.
    } catch {
        preconditionFailure("unexpected error \(error)")
    }
    return 0
}
