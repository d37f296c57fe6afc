import Foundation
import Glibc

/// A loopback TCP proxy for fault injection: it can stop forwarding without closing anything (a
/// half-open connection, as a dead NAT or a partitioned network leaves behind), refuse new
/// connections, and resume. Made with `readsBackendMessages`, it also follows PostgreSQL's
/// server-to-client messages and can drop every NotificationResponse while passing everything else,
/// which is what LISTEN through a transaction-pooling PgBouncer amounts to.
final class TCPProxy: @unchecked Sendable {
    private let upstreamPort: UInt16
    private let listenFD: Int32
    let port: Int
    private let lock = NSLock()
    private var paused = false
    private var refusing = false
    private var stopped = false
    private var sockets: [Int32] = []
    private let readsBackendMessages: Bool
    private var droppingNotifications = false

    init(upstreamPort: Int, readsBackendMessages: Bool = false) throws {
        self.upstreamPort = UInt16(upstreamPort)
        self.readsBackendMessages = readsBackendMessages
        let listenFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listenFD = listenFD
        var one: Int32 = 1
        setsockopt(listenFD, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listenFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, Glibc.listen(listenFD, 64) == 0 else { throw RawHTTP.Failure(description: "proxy bind failed") }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listenFD, $0, &length) }
        }
        port = Int(UInt16(bigEndian: actual.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    /// The upstream URL with host and port replaced by the proxy's.
    func url(for upstream: String) -> String {
        var components = URLComponents(string: upstream)!
        components.host = "127.0.0.1"
        components.port = port
        return components.string!
    }

    /// Stops forwarding bytes in both directions; every socket stays open.
    func pause() { lock.withLock { paused = true } }
    /// Forwards again.
    func resume() { lock.withLock { paused = false; refusing = false } }
    /// Drops NotificationResponse messages from the server from now on (needs `readsBackendMessages`).
    func dropNotifications() { lock.withLock { droppingNotifications = true } }
    /// Forwards notifications again.
    func deliverNotifications() { lock.withLock { droppingNotifications = false } }
    /// Closes new connections as soon as they are accepted.
    func refuseNewConnections() { lock.withLock { refusing = true } }

    /// Closes everything.
    func stop() {
        let open = lock.withLock { () -> [Int32] in
            stopped = true
            let open = sockets
            sockets = []
            return open
        }
        for fd in open { shutdown(fd, Int32(SHUT_RDWR)) }
        shutdown(listenFD, Int32(SHUT_RDWR))
        close(listenFD)
    }

    private var isPaused: Bool { lock.withLock { paused } }
    private var isStopped: Bool { lock.withLock { stopped } }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(port.bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    private func acceptLoop() {
        while !isStopped {
            let client = accept(listenFD, nil, nil)
            if client < 0 { if isStopped { return } else { continue } }
            if lock.withLock({ refusing }) {
                close(client)
                continue
            }
            let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.loopback(port: upstreamPort)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if connected != 0 {
                close(client)
                close(upstream)
                continue
            }
            lock.withLock { sockets += [client, upstream] }
            Thread { [self] in pump(from: client, to: upstream) }.start()
            let reader = readsBackendMessages ? BackendMessageReader() : nil
            Thread { [self] in pump(from: upstream, to: client, reader: reader) }.start()
        }
    }

    private func pump(from source: Int32, to destination: Int32, reader: BackendMessageReader? = nil) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        defer {
            shutdown(destination, Int32(SHUT_WR))
        }
        while !isStopped {
            if isPaused {
                usleep(10_000)
                continue
            }
            var pfd = pollfd(fd: source, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, 50) <= 0 { continue }
            // Re-check: a pause that began while waiting must not let these bytes through.
            if isPaused { continue }
            let n = recv(source, &buffer, buffer.count, 0)
            if n <= 0 { return }
            let out = reader.map { $0.forwardable(buffer[0..<n], dropNotifications: lock.withLock { droppingNotifications }) }
                ?? Array(buffer[0..<n])
            var sent = 0
            while sent < out.count {
                let m = out[sent...].withUnsafeBytes { send(destination, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if m <= 0 { return }
                sent += m
            }
        }
    }
}

/// Splits a PostgreSQL server-to-client byte stream into messages (type byte, then a 4-byte
/// big-endian length that counts itself), holding partial ones back until they are complete.
final class BackendMessageReader: @unchecked Sendable {
    private var pending: [UInt8] = []
    private var inHandshake = true

    /// The bytes to forward now, without NotificationResponse ('A') messages when asked.
    func forwardable(_ bytes: ArraySlice<UInt8>, dropNotifications: Bool) -> [UInt8] {
        pending += bytes
        var out: [UInt8] = []
        var i = 0
        while i < pending.count {
            // Before the first real message, the server answers SSL and GSS encryption requests
            // with a single byte ('N': not supported).
            if inHandshake && pending[i] == UInt8(ascii: "N") {
                out.append(pending[i])
                i += 1
                continue
            }
            inHandshake = false
            guard pending.count - i >= 5 else { break }
            let length = pending[(i + 1)...(i + 4)].reduce(0) { $0 << 8 | Int($1) }
            guard pending.count - i >= 1 + length else { break }
            if !(dropNotifications && pending[i] == UInt8(ascii: "A")) {
                out += pending[i..<(i + 1 + length)]
            }
            i += 1 + length
        }
        pending.removeFirst(i)
        return out
    }
}
