import Crypto

/// A token's SHA-256, held as four words: hashable and comparable without allocating, so it can key
/// an in-memory cache directly.
public struct TokenDigest: Sendable, Hashable {
    let a: UInt64
    let b: UInt64
    let c: UInt64
    let d: UInt64

    init(_ digest: SHA256.Digest) {
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        digest.withUnsafeBytes { raw in
            words = (
                raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
                raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
                raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self),
                raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
            )
        }
        (a, b, c, d) = words
    }

    /// Rebuilds a digest from its 32 bytes (as stored in `access_tokens.token_hash`).
    /// - Parameters:
    ///   - bytes: exactly 32 bytes.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        var words = [UInt64](repeating: 0, count: 4)
        bytes.withUnsafeBytes { raw in
            for i in 0..<4 { words[i] = raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self) }
        }
        (a, b, c, d) = (words[0], words[1], words[2], words[3])
    }

    /// The 32 bytes, in digest order.
    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(32)
        for word in [a, b, c, d] { withUnsafeBytes(of: word) { out.append(contentsOf: $0) } }
        return out
    }

    /// Lower-case hex, for PostgreSQL's `bytea` text input (`\x…`) and NOTIFY payloads. Not used on
    /// the cached path.
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension TokenDigest {
    /// Parses 64 hex digits (as sent in `keyflare_tokens` notifications).
    /// - Parameters:
    ///   - hex: the digest in hex, either case.
    public init?(hex: String) {
        let utf8 = Array(hex.utf8)
        guard utf8.count == 64 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(32)
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        for i in stride(from: 0, to: 64, by: 2) {
            guard let high = nibble(utf8[i]), let low = nibble(utf8[i + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        self.init(bytes: bytes)
    }
}
