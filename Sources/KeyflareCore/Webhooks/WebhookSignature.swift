import Crypto
import Foundation

/// The signing scheme: `Keyflare-Webhook-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`,
/// the key being the secret's UTF-8 text (`whsec_…`) and the timestamp the
/// `Keyflare-Webhook-Timestamp` header (Unix seconds).
public enum WebhookSignature {
    /// The prefix of every webhook secret.
    public static let secretPrefix = "whsec_"

    /// A new secret: the prefix and 32 random bytes in hex.
    public static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return secretPrefix + hex(bytes)
    }

    /// The header value for a body sent at a time.
    /// - Parameters:
    ///   - body: the exact bytes sent.
    ///   - timestamp: the `Keyflare-Webhook-Timestamp` value.
    ///   - secret: the webhook's secret.
    public static func sign(body: [UInt8], timestamp: Int, secret: String) -> String {
        var message = Array("\(timestamp).".utf8)
        message.append(contentsOf: body)
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Array(secret.utf8)))
        return "v1=" + hex(Array(mac))
    }

    /// Whether a header value is the signature of a body and timestamp (constant time in the MAC).
    /// - Parameters:
    ///   - header: the `Keyflare-Webhook-Signature` value.
    ///   - body: the bytes received.
    ///   - timestamp: the `Keyflare-Webhook-Timestamp` value.
    ///   - secret: the webhook's secret.
    public static func verify(header: String, body: [UInt8], timestamp: Int, secret: String) -> Bool {
        let expected = Array(sign(body: body, timestamp: timestamp, secret: secret).utf8)
        let given = Array(header.utf8)
        guard expected.count == given.count else { return false }
        return zip(expected, given).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
