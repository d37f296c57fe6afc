// libFuzzer target for endpoint SQL parameter scanning (EndpointSQL): any text must scan or be
// refused with a KeyflareError, in time linear in its length; a scan's placeholders must be
// numbered 1...n with n the number of distinct parameters.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEndpointSQL(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        let parsed = try EndpointSQL(parsing: text)
        precondition(Set(parsed.parameters).count == parsed.parameters.count, "a parameter was listed twice")
        if let highest = parsed.parameters.indices.last {
            // Compared as bytes: `String.contains` compares grapheme clusters, and a placeholder
            // followed by a combining mark is one cluster with it.
            let needle = Array("$\(highest + 1)".utf8)
            let haystack = Array(parsed.text.utf8)
            let found = haystack.count >= needle.count
                && (0...(haystack.count - needle.count)).contains { haystack[$0..<($0 + needle.count)].elementsEqual(needle) }
            precondition(found, "the last parameter has no placeholder")
        }
    } catch is KeyflareError {
    } catch {
        preconditionFailure("unexpected error \(error)")
    }
    return 0
}
