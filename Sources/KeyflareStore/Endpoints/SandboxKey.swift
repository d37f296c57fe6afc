import Crypto
import Foundation
import KeyflareCore
import PQ
import PQServices

/// The key sandbox role passwords are derived from (see `migrations/0017_sandbox_derived_passwords.sql`).
///
/// A role's password is `hex(HMAC-SHA-256(key, "keyflare sandbox role password\0" + role name))`, worked out
/// whenever a connection is opened and never stored. Every instance sharing a database must use the same key.
public struct SandboxKey: Sendable {
    /// Shortest accepted key, in bytes.
    public static let minimumBytes = 32

    private let key: SymmetricKey

    /// - Parameters:
    ///   - secret: at least `minimumBytes` bytes.
    public init(secret: some ContiguousBytes) throws {
        let count = secret.withUnsafeBytes { $0.count }
        guard count >= Self.minimumBytes else {
            throw ConfigurationError("KEYFLARE_SANDBOX_KEY must be at least \(Self.minimumBytes) bytes long")
        }
        key = SymmetricKey(data: secret)
    }

    /// The password of a sandbox role.
    /// - Parameters:
    ///   - role: the role's name.
    public func password(for role: String) -> String {
        Self.hex(HMAC<SHA256>.authenticationCode(for: Array("keyflare sandbox role password\0\(role)".utf8), using: key))
    }

    /// A fingerprint that names this key in `sandbox_roles.key_id`; it reveals nothing of the key.
    public var id: String {
        String(Self.hex(HMAC<SHA256>.authenticationCode(for: Array("keyflare sandbox key id".utf8), using: key)).prefix(16))
    }

    /// The key kept in the database for installs that set no `KEYFLARE_SANDBOX_KEY`, made on first use.
    /// Two instances racing both insert; the second insert does nothing, and the read that follows
    /// (a statement of its own, so its snapshot sees the first insert) returns the first key to both.
    /// - Parameters:
    ///   - pool: Keyflare's own pool.
    public static func stored(in pool: Pool) async throws -> SandboxKey {
        var fresh = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for i in fresh.indices { fresh[i] = UInt8.random(in: 0...255, using: &generator) }
        try await pool.query(
            "INSERT INTO sandbox_key (secret) VALUES (decode(\(Self.hex(fresh)), 'hex')) ON CONFLICT (only_row) DO NOTHING")
        let row = try await pool.query("SELECT encode(secret, 'hex') AS secret FROM sandbox_key").first
        guard let text: String = try row?.decode("secret"), let bytes = Self.bytes(hex: text) else {
            throw KeyflareError.unavailable("endpoints are unavailable: the stored sandbox key could not be read")
        }
        return try SandboxKey(secret: bytes)
    }

    private static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    private static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count.isMultiple(of: 2) else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var i = 0
        while i < digits.count {
            guard let byte = UInt8(String(decoding: digits[i..<i + 2], as: UTF8.self), radix: 16) else { return nil }
            out.append(byte)
            i += 2
        }
        return out
    }
}
