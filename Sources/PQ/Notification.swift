/// A NOTIFY received on a LISTEN connection.
public struct Notification: Sendable, Hashable {
    /// The channel it was sent on.
    public let channel: String
    /// The payload text (empty when none was given).
    public let payload: String
    /// The backend process id of the sender.
    public let processID: Int32

    /// Creates a notification value.
    /// - Parameters:
    ///   - channel: the channel name.
    ///   - payload: the payload text.
    ///   - processID: the sending backend's pid.
    public init(channel: String, payload: String, processID: Int32) {
        self.channel = channel
        self.payload = payload
        self.processID = processID
    }
}
