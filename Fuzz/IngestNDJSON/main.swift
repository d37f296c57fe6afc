import Foundation

// libFuzzer target for the NDJSON splitter (IngestBatch.parseNDJSON): any bytes must be accepted or
// refused with a KeyflareError, never crash or hang. What is accepted must keep its promises: 1 to
// 10,000 events, one timestamp each, and a JSON array that is itself a valid ingest body with the
// same events (so the lines could not be joined into anything else). Built by scripts/fuzz.sh.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIngestNDJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let body = UnsafeRawBufferPointer(start: data, count: size)
    let receivedAt = Date(timeIntervalSince1970: 1_700_000_000)
    do {
        let batch = try IngestBatch.parseNDJSON(body, receivedAt: receivedAt)
        precondition(batch.count >= 1 && batch.count <= IngestBatch.maxEvents, "event count out of bounds")
        precondition(batch.timestamps.count == batch.count)
        precondition(batch.shape == .array)
        let again = try Array(batch.json.utf8).withUnsafeBytes { try IngestBatch.parse($0, receivedAt: receivedAt) }
        precondition(again.shape == .array && again.count == batch.count, "the joined lines hold other events")
        precondition(again.timestamps == batch.timestamps, "the joined lines have other timestamps")
    } catch is KeyflareError {
        // Refused with a message for the client: fine.
    } catch {
        preconditionFailure("unexpected error \(error)")
    }
    return 0
}
