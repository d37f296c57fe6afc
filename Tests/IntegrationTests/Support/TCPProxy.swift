import Foundation
import Glibc

/// A loopback TCP proxy for fault injection: it can stop forwarding without closing anything (a
/// half-open connection, as a dead NAT or a partitioned network leaves behind), refuse new
/// connections, and resume.
final class TCPProxy: @unchecked Sendable {
    private let upstreamPort: UInt16
    private let listenFD: Int32
    let port: Int
    private let lock = NSLock()
    private var paused = false
    private var refusing = false
    private var stopped = false
    private var sockets: [Int32] = []

    init(upstreamPort: Int) throws {
        self.upstreamPort = UInt16(upstreamPort)
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
            Thread { [self] in pump(from: upstream, to: client) }.start()
        }
    }

    private func pump(from source: Int32, to destination: Int32) {
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
            var sent = 0
            while sent < n {
                let m = buffer[sent..<n].withUnsafeBytes { send(destination, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if m <= 0 { return }
                sent += m
            }
        }
    }
}
