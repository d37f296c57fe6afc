import Testing

@testable import PQ

@Suite struct PQErrorTests {
    @Test func descriptionNeverIncludesServerMessage() {
        let error = PQError(
            .server, message: #"invalid input syntax for type uuid: "hunter2-secret""#, sqlState: "22P02",
            detail: "Key (email)=(secret@example.com) already exists."
        )
        #expect(error.description == "PQError(server, sqlstate 22P02)")
        #expect(!"\(error)".contains("hunter2"))
        #expect(!"\(error)".contains("secret@example.com"))
        #expect(error.debugDescription.contains("hunter2-secret"))
    }

    @Test func malformedConninfoIsRejectedWithoutConnecting() {
        #expect(throws: PQError.self) { try Connection.validate(conninfo: "postgresql://host:notaport/db?bogus=1") }
        #expect(throws: PQError.self) { try Connection.validate(conninfo: "host=localhost port") }
        #expect(throws: Never.self) { try Connection.validate(conninfo: "postgresql://u:p@127.0.0.1:5432/db") }
        #expect(throws: Never.self) { try Connection.validate(conninfo: "host=127.0.0.1 dbname=x") }
    }

    @Test func connectionFailureIsClassified() {
        #expect(PQError(.connection, message: "x").isConnectionFailure)
        #expect(PQError(.server, message: "x", sqlState: "57P01").isConnectionFailure)
        #expect(!PQError(.server, message: "x", sqlState: "23505").isConnectionFailure)
        #expect(PQError(.server, message: "x", sqlState: "23505").isUniqueViolation)
    }
}
