#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address as its bytes. An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) is the
/// IPv4 address, so one CIDR list covers what a dual-stack socket reports either way.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    /// 4 bytes for IPv4, 16 for IPv6.
    public let bytes: [UInt8]

    /// Parses a literal address: dotted IPv4, or IPv6 (brackets and a `%zone` are not accepted).
    /// - Parameters:
    ///   - text: the address.
    public init?(_ text: some StringProtocol) {
        // Longest IPv6 literal with an embedded IPv4 part is 45 characters.
        guard !text.isEmpty, text.utf8.count <= 45 else { return nil }
        let string = String(text)
        var v4 = in_addr()
        if inet_pton(AF_INET, string, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, string, &v6) == 1 else { return nil }
        let raw = withUnsafeBytes(of: &v6) { Array($0) }
        if raw[0..<10].allSatisfy({ $0 == 0 }) && raw[10] == 0xFF && raw[11] == 0xFF {
            bytes = Array(raw[12..<16])
        } else {
            bytes = raw
        }
    }

    /// An address from its 4 or 16 bytes in network order, taken as they are.
    init(bytes: [UInt8]) { self.bytes = bytes }

    /// Whether this is an IPv4 address.
    public var isV4: Bool { bytes.count == 4 }

    /// The canonical text form (`inet_ntop`).
    public var description: String {
        var buffer = [CChar](repeating: 0, count: 64)
        var copy = bytes
        let family = isV4 ? AF_INET : AF_INET6
        let text = copy.withUnsafeMutableBytes { raw in
            inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count))
        }
        guard text != nil else { return "?" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A block of addresses, as in `10.0.0.0/8` or `2001:db8::/32`; a bare address is a block of one.
public struct CIDR: Sendable, Hashable, CustomStringConvertible {
    /// The first address of the block.
    public let network: IPAddress
    /// How many leading bits are fixed.
    public let prefixLength: Int

    /// Parses `address/prefix` or a bare address. Bits set beyond the prefix are refused, since
    /// `10.0.0.1/8` usually means a typo rather than `10.0.0.0/8`.
    /// - Parameters:
    ///   - text: the block.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parts[0]) else { return nil }
        // An IPv4-mapped IPv6 block (`::ffff:10.0.0.0/104`) is written against 128 bits and is the
        // IPv4 block it maps (`10.0.0.0/8`).
        let mapped = address.isV4 && parts[0].contains(":")
        let width = mapped ? 128 : address.bytes.count * 8
        var length = address.bytes.count * 8
        if parts.count == 2 {
            guard !parts[1].isEmpty, parts[1].utf8.count <= 3, parts[1].utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                let n = Int(parts[1]), n <= width
            else { return nil }
            if mapped {
                guard n >= 96 else { return nil }
                length = n - 96
            } else {
                length = n
            }
        }
        for i in 0..<address.bytes.count {
            let fixed = max(0, min(8, length - i * 8))
            let mask: UInt8 = fixed == 8 ? 0xFF : ~(0xFF >> UInt8(fixed))
            if address.bytes[i] & ~mask != 0 { return nil }
        }
        network = address
        prefixLength = length
    }

    /// Whether `address` is in the block.
    /// - Parameters:
    ///   - address: any address; one of the other family is never in it.
    public func contains(_ address: IPAddress) -> Bool {
        guard address.bytes.count == network.bytes.count else { return false }
        var remaining = prefixLength
        for i in 0..<network.bytes.count where remaining > 0 {
            let bits = min(8, remaining)
            let mask: UInt8 = bits == 8 ? 0xFF : ~(0xFF >> UInt8(bits))
            if address.bytes[i] & mask != network.bytes[i] & mask { return false }
            remaining -= bits
        }
        return true
    }

    public var description: String { "\(network)/\(prefixLength)" }
}
