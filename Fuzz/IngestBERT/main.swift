import Foundation

// libFuzzer target for the BERT decoder (BERTDecoder.json): any bytes must be accepted or refused
// with a KeyflareError, never crash or hang. What is accepted must keep its promises: no more JSON
// than the limit, JSON that IngestScanner reads as valid JSON, and a body IngestBatch.parse either
// takes byte for byte or refuses with a KeyflareError. A second, small limit must cut the same
// output short with a 413, never change it. Built by scripts/fuzz.sh with the decoder's and the
// scanner's source files.

/// Small enough that many inputs cross it, so the 413 path is fuzzed as much as the others.
let smallLimit = 64

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIngestBERT(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let body = UnsafeRawBufferPointer(start: data, count: size)
    let receivedAt = Date(timeIntervalSince1970: 1_700_000_000)
    var json: [UInt8] = []
    var refusal: KeyflareError?
    do {
        json = try BERTDecoder.json(from: body)
        precondition(json.count <= IngestBatch.maxBodyBytes, "the JSON is over the limit")
        checkIsJSON(json)
        do {
            let batch = try json.withUnsafeBytes { try IngestBatch.parse($0, receivedAt: receivedAt) }
            precondition(batch.count >= 1 && batch.count <= IngestBatch.maxEvents, "event count out of bounds")
            precondition(Array(batch.json.utf8) == json, "an accepted body was not kept byte for byte")
        } catch is KeyflareError {
            // Valid BERT that is not a valid ingest body (a bare number, say): refused, fine.
        }
    } catch let error as KeyflareError {
        refusal = error
    } catch {
        preconditionFailure("unexpected error \(error)")
    }
    do {
        let short = try BERTDecoder.json(from: body, limit: smallLimit)
        precondition(refusal == nil && short == json, "a smaller limit changed the output")
    } catch let error as KeyflareError {
        if case .payloadTooLarge = error {
            precondition(refusal != nil || json.count > smallLimit, "a 413 for output within the limit")
        } else {
            precondition(error == refusal, "a smaller limit changed the refusal")
        }
    } catch {
        preconditionFailure("unexpected error \(error)")
    }
    return 0
}

/// The output wrapped as one member of an event object must scan as JSON: the scanner may refuse it
/// for what `jsonb` cannot store (NUL, depth), never for its syntax or its UTF-8.
func checkIsJSON(_ json: [UInt8]) {
    let wrapped = Array(#"{"v":"#.utf8) + json + [UInt8(ascii: "}")]
    do {
        _ = try wrapped.withUnsafeBytes { try IngestScanner.scan($0, maxEvents: 1) }
    } catch let error as KeyflareError {
        for broken in ["the request body is not valid JSON", "the request body is not valid UTF-8", "unpaired UTF-16 surrogate"] {
            precondition(!error.message.contains(broken), "the decoder wrote invalid JSON: \(error.message)")
        }
    } catch {
        preconditionFailure("unexpected error \(error)")
    }
}
