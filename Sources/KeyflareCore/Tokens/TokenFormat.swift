import Crypto
import Foundation

/// The shape of a secret: `kf_prv_` or `kf_pub_`, 43 base62 characters carrying 32 CSPRNG bytes, and a
/// 6-character base62 CRC32 of everything before it. The checksum lets a typo or a random string be
/// rejected before any hashing, cache or database lookup.
public enum TokenFormat {
    /// Prefix of private (management) tokens.
    public static let privatePrefix = "kf_prv_"
    /// Prefix of public tokens.
    public static let publicPrefix = "kf_pub_"
    /// Random bytes per token.
    public static let randomByteCount = 32
    /// Base62 characters that carry the random bytes.
    static let bodyLength = 43
    /// Base62 characters of the checksum (62^6 > 2^32).
    static let checksumLength = 6
    /// Total length of a token.
    public static let length = 7 + bodyLength + checksumLength

    static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// Makes a new secret token.
    /// - Parameters:
    ///   - kind: public or private.
    public static func generate(kind: TokenKind) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<randomByteCount).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let head = kind.prefix + base62(bytes, width: bodyLength)
        return head + checksum(of: Array(head.utf8))
    }

    /// Why a presented string is not a token.
    public enum Problem: Error, Sendable, Equatable {
        case malformed
        case badChecksum
    }

    /// Checks prefix, length, alphabet and checksum, without hashing anything.
    /// - Parameters:
    ///   - token: the presented string.
    /// - Returns: the token's kind, or the problem.
    public static func check(_ token: String) -> Result<TokenKind, Problem> {
        var token = token
        // Native strings are contiguous UTF-8; makeContiguousUTF8 is a no-op for them, so the check
        // below reads the bytes in place, without copying or allocating.
        token.makeContiguousUTF8()
        return token.utf8.withContiguousStorageIfAvailable(check(bytes:)) ?? .failure(.malformed)
    }

    static func check(bytes: UnsafeBufferPointer<UInt8>) -> Result<TokenKind, Problem> {
        guard bytes.count == length else { return .failure(.malformed) }
        // "kf_pr" / "kf_pu" then "v_" or "b_".
        guard bytes[0] == UInt8(ascii: "k"), bytes[1] == UInt8(ascii: "f"), bytes[2] == UInt8(ascii: "_"),
            bytes[3] == UInt8(ascii: "p"), bytes[6] == UInt8(ascii: "_")
        else { return .failure(.malformed) }
        let kind: TokenKind
        if bytes[4] == UInt8(ascii: "r") && bytes[5] == UInt8(ascii: "v") {
            kind = .private
        } else if bytes[4] == UInt8(ascii: "u") && bytes[5] == UInt8(ascii: "b") {
            kind = .public
        } else {
            return .failure(.malformed)
        }
        for i in 7..<length where decodeTable[Int(bytes[i])] < 0 { return .failure(.malformed) }
        let headLength = length - checksumLength
        var crc = CRC32.checksum(UnsafeBufferPointer(rebasing: bytes[0..<headLength]))
        // Compare the given checksum with the expected one digit by digit, from the least
        // significant, without building a string; constant time, although a checksum is no secret.
        var difference: UInt8 = 0
        for i in stride(from: length - 1, through: headLength, by: -1) {
            difference |= alphabet[Int(crc % 62)] ^ bytes[i]
            crc /= 62
        }
        return difference == 0 ? .success(kind) : .failure(.badChecksum)
    }

    /// The last four characters, shown in lists so a person can tell tokens apart.
    /// - Parameters:
    ///   - token: the secret.
    /// Shortest and longest token of another format that can be imported or seeded.
    public static let importedLengths = 16...512

    /// Whether `token` may be a token of another format (imported, or seeded from a free-form
    /// value): 16 to 512 visible ASCII characters, and not Keyflare's own prefix, whose tokens
    /// are always checked against their checksum first.
    /// - Parameters:
    ///   - token: the presented or given string.
    public static func isImportable(_ token: String) -> Bool {
        let bytes = token.utf8
        guard importedLengths.contains(bytes.count), !token.hasPrefix(privatePrefix), !token.hasPrefix(publicPrefix) else {
            return false
        }
        return bytes.allSatisfy { (0x21...0x7E).contains($0) }
    }

    /// Refuses the example values published in self-hosted Supabase's configuration (and any value
    /// containing them): a token everyone knows is no secret.
    /// - Parameters:
    ///   - token: a value to import or seed.
    public static func refusePublishedExample(_ token: String) throws {
        guard !token.contains("your-super-secret-and-long-logflare-key") else {
            throw KeyflareError.unprocessable("that is the example value published with self-hosted Supabase; generate your own")
        }
    }

    public static func hint(of token: String) -> String {
        String(token.suffix(4))
    }

    /// SHA-256 of the whole token string: what is stored and looked up.
    /// - Parameters:
    ///   - token: the secret.
    public static func digest(of token: String) -> TokenDigest {
        var token = token
        token.makeContiguousUTF8()
        return token.utf8.withContiguousStorageIfAvailable { TokenDigest(SHA256.hash(data: UnsafeRawBufferPointer($0))) }
            ?? TokenDigest(SHA256.hash(data: Array(token.utf8)))
    }

    static func checksum(of bytes: [UInt8]) -> String {
        let crc = bytes.withUnsafeBufferPointer { CRC32.checksum($0) }
        return base62(withUnsafeBytes(of: crc.bigEndian, Array.init), width: checksumLength)
    }

    /// Big-endian bytes as a fixed-width base62 number.
    static func base62(_ bytes: [UInt8], width: Int) -> String {
        var number = bytes
        var digits = [UInt8](repeating: alphabet[0], count: width)
        var position = width - 1
        while position >= 0 {
            var remainder = 0
            var allZero = true
            for i in number.indices {
                let value = remainder * 256 + Int(number[i])
                number[i] = UInt8(value / 62)
                remainder = value % 62
                if number[i] != 0 { allZero = false }
            }
            digits[position] = alphabet[remainder]
            position -= 1
            if allZero { break }
        }
        return String(decoding: digits, as: UTF8.self)
    }

    static let decodeTable: [Int8] = {
        var table = [Int8](repeating: -1, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = Int8(i) }
        return table
    }()
}
