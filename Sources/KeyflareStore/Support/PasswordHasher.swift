import HummingbirdBcrypt
import NIOPosix

/// bcrypt password hashing, run on NIO's thread pool: at cost 10 a hash takes tens of
/// milliseconds, which must never stall an event loop or the cooperative pool.
public struct PasswordHasher: Sendable {
    /// bcrypt cost factor.
    public let cost: UInt8

    /// - Parameters:
    ///   - cost: bcrypt cost (10 takes about 46 ms here).
    public init(cost: UInt8 = 10) {
        self.cost = cost
    }

    /// Hashes a password.
    /// - Parameters:
    ///   - password: the plaintext; never logged.
    public func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    /// Checks a password against a stored hash.
    /// - Parameters:
    ///   - password: the plaintext; never logged.
    ///   - hash: the stored bcrypt hash.
    public func verify(_ password: String, hash: String) async throws -> Bool {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
    }
}
