import Foundation

// libFuzzer target for the OTLP JSON decoder (OTLPLogs.decodeJSON): any bytes must be
// decoded or refused with a KeyflareError, never crash or hang. What is decoded must keep its
// promises: the events are a JSON array that IngestBatch.parse accepts with exactly `events`
// events (or `[]`), within the request limits, and every record is either an event or rejected.
// Built by scripts/fuzz.sh from Sources/KeyflareCore/Ingest/OTLP/*.swift and the ingest files.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOTLPJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let body = UnsafeRawBufferPointer(start: data, count: size)
    do {
        let decoded = try OTLPLogs.decodeJSON(body)
        checkDecoded(decoded)
    } catch is KeyflareError {
        // Refused with a message for the client: fine.
    } catch {
        preconditionFailure("unexpected error \(error)")
    }
    return 0
}

/// What every decoded request promises, whichever encoding it came in.
func checkDecoded(_ decoded: OTLPLogs.Decoded) {
    precondition(decoded.events >= 0 && decoded.rejected >= 0, "negative counts")
    precondition(decoded.events + decoded.rejected <= IngestBatch.maxEvents, "more records than the limit")
    precondition(decoded.json.count <= IngestBatch.maxBodyBytes, "events past the body limit")
    precondition((decoded.rejected > 0) == (decoded.rejectionMessage != nil), "a rejection without its reason")
    guard decoded.events > 0 else {
        precondition(decoded.json == Array("[]".utf8), "no events but not []")
        return
    }
    let receivedAt = Date(timeIntervalSince1970: 1_700_000_000)
    do {
        let batch = try decoded.json.withUnsafeBytes { try IngestBatch.parse($0, receivedAt: receivedAt) }
        precondition(batch.shape == .array && batch.count == decoded.events, "the events JSON holds other events")
    } catch {
        preconditionFailure("the events JSON is refused by IngestBatch.parse: \(error)\n\(String(decoding: decoded.json, as: UTF8.self))")
    }
    _ = OTLPLogs.responseProtobuf(rejected: decoded.rejected, message: decoded.rejectionMessage)
    _ = OTLPLogs.responseJSON(rejected: decoded.rejected, message: decoded.rejectionMessage)
}
