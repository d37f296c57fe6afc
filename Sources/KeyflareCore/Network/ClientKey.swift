/// A client address as the request path counts it: the socket's bytes, or the text a trusted
/// proxy's header named. Hashing and comparing it costs a few integer operations and no allocation;
/// it becomes text (`description`) only when a tally is written, not on every request.
public enum ClientKey: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// An IPv4 address, its four bytes in network order as they lie in memory.
    case v4(UInt32)
    /// An IPv6 address, its sixteen bytes in network order as they lie in memory.
    case v6(UInt64, UInt64)
    /// Text that is not a literal address (a forwarded value that did not parse), or `others`.
    case text(String)

    /// The key that counts whatever a tally does not keep apart.
    public static let others = ClientKey.text("")

    /// The key of a literal address (IPv4-mapped IPv6 counts as IPv4), else the text as it is.
    /// - Parameters:
    ///   - text: the address.
    public init(_ text: String) {
        guard let address = IPAddress(text) else {
            self = .text(text)
            return
        }
        self.init(bytes: address.bytes)
    }

    public init(stringLiteral value: String) { self.init(value) }

    /// The key of 4 or 16 address bytes in network order; a v4-mapped IPv6 address is IPv4.
    /// - Parameters:
    ///   - bytes: the address's bytes.
    public init(bytes: some Collection<UInt8>) {
        let bytes = Array(bytes)
        if bytes.count == 4 {
            self = bytes.withUnsafeBytes { .v4($0.loadUnaligned(as: UInt32.self)) }
        } else if bytes.count == 16 {
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
                self.init(bytes: bytes[12..<16])
            } else {
                self = bytes.withUnsafeBytes { .v6($0.loadUnaligned(as: UInt64.self), $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) }
            }
        } else {
            self = .text("?")
        }
    }

    /// The canonical text form, as `IPAddress` prints it.
    public var description: String {
        switch self {
        case .v4(let raw): return IPAddress(bytes: withUnsafeBytes(of: raw) { Array($0) }).description
        case .v6(let high, let low):
            return IPAddress(bytes: withUnsafeBytes(of: high) { Array($0) } + withUnsafeBytes(of: low) { Array($0) }).description
        case .text(let text): return text
        }
    }
}
