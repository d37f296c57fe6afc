internal import CLibPQ
import Glibc

/// One libpq connection, with a deliberately small, blocking surface (connect, execute, consume input,
/// notifications). Every call blocks the calling thread: call it from a pool thread or the listener's
/// own thread, never from Swift's cooperative pool.
///
/// `@unchecked Sendable`: a connection is used by one caller at a time. The pool hands it to exactly
/// one borrower and the listener keeps its own; neither shares it, and that discipline is what makes
/// moving it between threads safe.
public final class Connection: @unchecked Sendable {
    private var handle: OpaquePointer?
    /// Set when the server sent a FATAL message outside any query (it is about to close the
    /// connection, as after `pg_terminate_backend` or a shutdown).
    private var serverEndedSession = false

    private init(handle: OpaquePointer) {
        self.handle = handle
    }

    deinit {
        close()
    }

    /// Opens a connection.
    /// - Parameters:
    ///   - conninfo: a libpq URI (`postgresql://...`) or a `key=value` connection string.
    ///   - options: extra libpq settings (such as `keepalives_idle` or `application_name`) that
    ///     override what `conninfo` says.
    public static func connect(_ conninfo: String, options: [(String, String)] = []) throws -> Connection {
        try validate(conninfo: conninfo)
        // PQconnectdbParams with expand_dbname: the first "dbname" is the whole conninfo or URI, and
        // later keywords override it.
        let keywords = ["dbname"] + options.map(\.0)
        let values = [conninfo] + options.map(\.1)
        let cKeywords = keywords.map { strdup($0) }
        let cValues = values.map { strdup($0) }
        defer {
            for p in cKeywords { free(p) }
            for p in cValues { free(p) }
        }
        let connected: OpaquePointer? = (cKeywords.map { UnsafePointer($0) } + [nil]).withUnsafeBufferPointer { k in
            (cValues.map { UnsafePointer($0) } + [nil]).withUnsafeBufferPointer { v in
                PQconnectdbParams(k.baseAddress, v.baseAddress, 1)
            }
        }
        guard let handle = connected else {
            throw PQError(.connection, message: "libpq could not allocate a connection")
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(handle)).trimmingTrailingWhitespace()
            // PQfinish must run even when the connect failed, to free the PGconn.
            PQfinish(handle)
            throw PQError(.connection, message: message)
        }
        let connection = Connection(handle: handle)
        // libpq prints server notices (such as "relation ... already exists, skipping") to stderr by
        // default; they are not errors and would only clutter command output and logs. An error that
        // arrives while no query runs also comes this way: a FATAL one means the server is closing
        // this session, and the flag lets `checkHealth` say so before the socket is closed.
        PQsetNoticeReceiver(handle, { context, result in
            guard let context, let result,
                let severity = PQresultErrorField(result, Int32(UInt8(ascii: "V")))
            else { return }
            let level = String(cString: severity)
            if level == "FATAL" || level == "PANIC" {
                Unmanaged<Connection>.fromOpaque(context).takeUnretainedValue().serverEndedSession = true
            }
        }, Unmanaged.passUnretained(connection).toOpaque())
        return connection
    }

    /// Checks that a connection string parses, without connecting.
    /// - Parameters:
    ///   - conninfo: a libpq URI or `key=value` string.
    public static func validate(conninfo: String) throws {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let options = PQconninfoParse(conninfo, &errorMessage)
        if let options {
            defer { PQconninfoFree(options) }
            // libpq only checks the port when it connects; check it now so a typo is reported at start.
            var option = options
            while let keyword = option.pointee.keyword {
                if String(cString: keyword) == "port", let value = option.pointee.val {
                    let ports = String(cString: value).split(separator: ",", omittingEmptySubsequences: false)
                    guard ports.allSatisfy({ $0.isEmpty || (UInt16($0) != nil) }) else {
                        throw PQError(.invalidConninfo, message: "the port must be a number from 1 to 65535")
                    }
                }
                option += 1
            }
            return
        }
        var message = "invalid connection string"
        if let errorMessage {
            message = String(cString: errorMessage).trimmingTrailingWhitespace()
            PQfreemem(errorMessage)
        }
        throw PQError(.invalidConninfo, message: message)
    }

    /// Closes the connection. Safe to call more than once: the handle is swapped out first, so
    /// `PQfinish` runs exactly once.
    public func close() {
        let h = handle
        handle = nil
        if let h { PQfinish(h) }
    }

    /// True while libpq reports the connection as usable.
    public var isOpen: Bool {
        guard let handle else { return false }
        return PQstatus(handle) == CONNECTION_OK
    }

    /// True when the connection is open and outside any transaction block.
    public var isIdle: Bool {
        guard let handle, PQstatus(handle) == CONNECTION_OK else { return false }
        return PQtransactionStatus(handle) == PQTRANS_IDLE
    }

    /// A cheap liveness check for an idle connection, with no round trip: an idle connection has
    /// nothing to read, so if its socket is readable the server either sent a notice or closed it
    /// (for example after `pg_terminate_backend`). Consuming that input tells which: a closed socket, or
    /// a FATAL message (sent just before the close), makes it unhealthy.
    public func checkHealth() -> Bool {
        guard isIdle, !serverEndedSession, let handle else { return false }
        let fd = PQsocket(handle)
        guard fd >= 0 else { return false }
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&pfd, 1, 0)
        if ready == 0 { return true }
        if ready < 0 { return false }
        // A terminated backend first sends its FATAL message, then closes: keep reading while the
        // socket stays readable, so the end of the stream is seen now rather than by the next query.
        for _ in 0..<4 {
            if PQconsumeInput(handle) == 0 || PQstatus(handle) != CONNECTION_OK { return false }
            // Drop anything that arrived unsolicited (notifications nobody listens for here).
            while let n = PQnotifies(handle) { PQfreemem(n) }
            // The termination notice can arrive a moment before the socket closes.
            if serverEndedSession { return false }
            pfd.revents = 0
            if poll(&pfd, 1, 0) <= 0 { return true }
        }
        return false
    }

    /// Runs one statement with text-format parameters (`PQexecParams`).
    /// - Parameters:
    ///   - query: the statement and its binds.
    @discardableResult
    public func execute(_ query: Query) throws -> QueryResult {
        guard let handle else { throw PQError(.connection, message: "connection is closed") }
        try Self.refuseNUL(query.binds)
        let params: [UnsafeMutablePointer<CChar>?] = query.binds.map { $0.map { strdup($0) } }
        defer { for p in params { free(p) } }
        let result: OpaquePointer? = params.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: max(buffer.count, 1)) {
                pointer in
                PQexecParams(handle, query.sql, Int32(params.count), nil, params.isEmpty ? nil : pointer, nil, nil, 0)
            }
        }
        return try consume(result)
    }

    /// What a row handler wants after each row of `stream`.
    public enum StreamDecision: Sendable {
        /// Send the next row.
        case more
        /// Stop: the statement is cancelled and the rest of its rows are never read.
        case stop
    }

    /// Runs one statement and hands its rows over one at a time (libpq's single-row mode), so that
    /// at most one row is held in memory whatever the statement returns; the handler can stop it.
    /// - Parameters:
    ///   - query: the statement and its binds.
    ///   - onRow: called with each row's values (nil for NULL), in order.
    /// - Returns: true if every row was read, false if the handler stopped it.
    public func stream(_ query: Query, onRow: ([String?]) throws -> StreamDecision) throws -> Bool {
        guard let handle else { throw PQError(.connection, message: "connection is closed") }
        try Self.refuseNUL(query.binds)
        let params: [UnsafeMutablePointer<CChar>?] = query.binds.map { $0.map { strdup($0) } }
        defer { for p in params { free(p) } }
        let sent: Int32 = params.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: max(buffer.count, 1)) {
                pointer in
                PQsendQueryParams(handle, query.sql, Int32(params.count), nil, params.isEmpty ? nil : pointer, nil, nil, 0)
            }
        }
        guard sent == 1 else {
            throw PQError(.connection, message: String(cString: PQerrorMessage(handle)).trimmingTrailingWhitespace())
        }
        _ = PQsetSingleRowMode(handle)
        var stopped = false
        var failure: (any Error)?
        // Every result is read to the end (libpq needs that before the next statement), but after a
        // stop or a failure the remaining ones are only cleared.
        while let result = PQgetResult(handle) {
            defer { PQclear(result) }
            switch PQresultStatus(result) {
            case PGRES_SINGLE_TUPLE:
                guard !stopped, failure == nil else { continue }
                let fields = Int(PQnfields(result))
                var values: [String?] = []
                values.reserveCapacity(fields)
                for f in 0..<fields {
                    values.append(PQgetisnull(result, 0, Int32(f)) != 0 ? nil : String(cString: PQgetvalue(result, 0, Int32(f))))
                }
                do {
                    if try onRow(values) == .stop {
                        stopped = true
                        cancel()
                    }
                } catch {
                    failure = error
                    cancel()
                }
            case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
                break
            default:
                // After our own cancel, the server's "canceling statement" error is expected.
                if !stopped, failure == nil {
                    failure = Self.error(from: result, connectionOK: PQstatus(handle) == CONNECTION_OK)
                }
            }
        }
        if let failure { throw failure }
        return !stopped
    }

    /// Asks the server to cancel the statement in progress (`PQcancel`, on a connection of its own).
    private func cancel() {
        guard let handle, let token = PQgetCancel(handle) else { return }
        defer { PQfreeCancel(token) }
        var buffer = [CChar](repeating: 0, count: 256)
        _ = PQcancel(token, &buffer, Int32(buffer.count))
    }

    /// Text parameters travel as C strings, so a NUL would silently cut a value short (and
    /// PostgreSQL's `text` cannot hold one anyway): such a query is refused before anything is sent.
    static func refuseNUL(_ binds: [String?]) throws {
        for (index, bind) in binds.enumerated() where bind?.utf8.contains(0) == true {
            throw PQError(.invalidParameter, message: "parameter $\(index + 1) contains a NUL character")
        }
    }

    /// Runs one or more statements with no parameters (`PQexec`), for migration scripts.
    /// - Parameters:
    ///   - unsafeSQL: the script, used as is.
    @discardableResult
    public func executeScript(unsafeSQL: String) throws -> QueryResult {
        guard let handle else { throw PQError(.connection, message: "connection is closed") }
        guard !unsafeSQL.utf8.contains(0) else { throw PQError(.invalidParameter, message: "the statement contains a NUL character") }
        return try consume(PQexec(handle, unsafeSQL))
    }

    /// Quotes an identifier (a channel or table name) with `PQescapeIdentifier`.
    /// - Parameters:
    ///   - identifier: the raw name.
    public func escapeIdentifier(_ identifier: String) throws -> String {
        guard let handle else { throw PQError(.connection, message: "connection is closed") }
        let utf8Count = identifier.utf8.count
        guard let escaped = PQescapeIdentifier(handle, identifier, utf8Count) else {
            throw PQError(.unexpected, message: String(cString: PQerrorMessage(handle)).trimmingTrailingWhitespace())
        }
        defer { PQfreemem(escaped) }
        return String(cString: escaped)
    }

    /// A string as a quoted SQL literal (`PQescapeLiteral`), for a statement that takes no bind
    /// parameters (`CREATE VIEW`). The string must hold no NUL.
    /// - Parameters:
    ///   - text: the value.
    public func escapeLiteral(_ text: String) throws -> String {
        guard let handle else { throw PQError(.connection, message: "connection is closed") }
        guard let escaped = PQescapeLiteral(handle, text, text.utf8.count) else {
            throw PQError(.unexpected, message: String(cString: PQerrorMessage(handle)).trimmingTrailingWhitespace())
        }
        defer { PQfreemem(escaped) }
        return String(cString: escaped)
    }

    /// The SCRAM-SHA-256 verifier of a password (`PQencryptPasswordConn`), computed here, so that a
    /// `CREATE ROLE … PASSWORD` or `ALTER ROLE … PASSWORD` can send it instead of the password: the
    /// server stores a verifier as it is, and no log line on its side ever sees the password.
    /// - Parameters:
    ///   - password: the password.
    ///   - user: the role it is for.
    public func scramVerifier(of password: String, user: String) throws -> String {
        guard let handle else { throw PQError(.connection, message: "connection is closed") }
        guard let verifier = PQencryptPasswordConn(handle, password, user, "scram-sha-256") else {
            throw PQError(.unexpected, message: String(cString: PQerrorMessage(handle)).trimmingTrailingWhitespace())
        }
        defer { PQfreemem(verifier) }
        return String(cString: verifier)
    }

    /// The socket descriptor, for waiting on input with `poll`.
    public var socket: Int32 {
        guard let handle else { return -1 }
        return PQsocket(handle)
    }

    /// Reads whatever the server has sent, without blocking (`PQconsumeInput`).
    public func consumeInput() throws {
        guard let handle else { throw PQError(.connection, message: "connection is closed") }
        if PQconsumeInput(handle) == 0 || PQstatus(handle) != CONNECTION_OK {
            throw PQError(.connection, message: String(cString: PQerrorMessage(handle)).trimmingTrailingWhitespace())
        }
    }

    /// Sends a statement without waiting for its result (`PQsendQuery`); collect the answer with
    /// `consumeInput()` and `drainResults()`.
    /// - Parameters:
    ///   - unsafeSQL: the statement, used as is.
    public func send(unsafeSQL: String) throws {
        guard let handle else { throw PQError(.connection, message: "connection is closed") }
        guard PQsendQuery(handle, unsafeSQL) == 1 else {
            throw PQError(.connection, message: String(cString: PQerrorMessage(handle)).trimmingTrailingWhitespace())
        }
    }

    /// After `send`, discards every result that has fully arrived; returns true once the statement is
    /// complete (libpq is no longer busy), without blocking.
    public func drainResults() -> Bool {
        guard let handle else { return false }
        while PQisBusy(handle) == 0 {
            guard let result = PQgetResult(handle) else { return true }
            PQclear(result)
        }
        return false
    }

    /// Drains the notifications libpq has buffered, copying each out and freeing it at once.
    public func notifications() -> [Notification] {
        guard let handle else { return [] }
        var out: [Notification] = []
        while let n = PQnotifies(handle) {
            out.append(
                Notification(
                    channel: String(cString: n.pointee.relname),
                    payload: String(cString: n.pointee.extra),
                    processID: n.pointee.be_pid
                )
            )
            PQfreemem(n)
        }
        return out
    }

    private func consume(_ result: OpaquePointer?) throws -> QueryResult {
        guard let result else {
            let message = handle.map { String(cString: PQerrorMessage($0)).trimmingTrailingWhitespace() }
            throw PQError(.connection, message: message ?? "no result")
        }
        // PQclear runs exactly once, whatever path we leave by; everything is copied out first.
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        switch status {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            break
        default:
            throw Self.error(from: result, connectionOK: handle.map { PQstatus($0) == CONNECTION_OK } ?? false)
        }
        let fieldCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        var columns: [String] = []
        columns.reserveCapacity(fieldCount)
        for f in 0..<fieldCount {
            columns.append(String(cString: PQfname(result, Int32(f))))
        }
        let index = ColumnIndex(columns)
        var rows: [Row] = []
        rows.reserveCapacity(rowCount)
        for r in 0..<rowCount {
            var values: [String?] = []
            values.reserveCapacity(fieldCount)
            for f in 0..<fieldCount {
                if PQgetisnull(result, Int32(r), Int32(f)) != 0 {
                    values.append(nil)
                } else {
                    values.append(String(cString: PQgetvalue(result, Int32(r), Int32(f))))
                }
            }
            rows.append(Row(columnIndex: index, values: values))
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        return QueryResult(columns: columns, rows: rows, affectedRows: affected)
    }

    private static func error(from result: OpaquePointer, connectionOK: Bool) -> PQError {
        func field(_ code: Character) -> String? {
            guard let value = PQresultErrorField(result, Int32(code.asciiValue!)) else { return nil }
            return String(cString: value)
        }
        let sqlState = field("C")
        let primary = field("M") ?? String(cString: PQresultErrorMessage(result)).trimmingTrailingWhitespace()
        let kind: PQError.Kind = (sqlState == nil && !connectionOK) ? .connection : .server
        return PQError(
            kind, message: primary, sqlState: sqlState, severity: field("V") ?? field("S"), detail: field("D"),
            hint: field("H"), constraint: field("n"), table: field("t"), column: field("c"),
            position: field("P").flatMap { Int($0) }
        )
    }
}

extension String {
    func trimmingTrailingWhitespace() -> String {
        var s = Substring(self)
        while let last = s.last, last.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
