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
