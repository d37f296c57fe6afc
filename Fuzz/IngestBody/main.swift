import Foundation

// libFuzzer target for the ingest body scanner (IngestScanner, through IngestBatch.parse): any bytes
// at all must be accepted or refused with a KeyflareError, never crash or hang, and what is accepted
// must keep its promises: 1 to 10,000 events, one timestamp each, and a body that is valid UTF-8
// (stored as sent, byte for byte). Built by scripts/fuzz.sh with the scanner's own source files.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIngestBody(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let body = UnsafeRawBufferPointer(start: data, count: size)
    let receivedAt = Date(timeIntervalSince1970: 1_700_000_000)
    do {
        let batch = try IngestBatch.parse(body, receivedAt: receivedAt)
        precondition(batch.count >= 1 && batch.count <= IngestBatch.maxEvents, "event count out of bounds")
        precondition(batch.timestamps.count == batch.count)
        precondition(Array(batch.json.utf8).elementsEqual(body), "an accepted body was not kept byte for byte")
        precondition(!batch.json.utf8.contains(0), "an accepted body holds a raw NUL")
    } catch is KeyflareError {
        // Refused with a message for the client: fine.
    } catch {
        preconditionFailure("unexpected error \(error)")
    }
    return 0
}
