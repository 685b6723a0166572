import Foundation
import Testing

/// Runs the built `softmax-mpi` under `mpirun` (Open MPI, loopback only), each job under
/// `timeout 60` so that a hang fails the test instead of the run.
enum MPIRun {
  struct Result {
    var status: Int32
    var stdout: String
    var stderr: String
  }

  static let executable: URL = {
    var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    while !directory.path.isEmpty && directory.path != "/" {
      let candidate = directory.appendingPathComponent("softmax-mpi")
      if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
      directory = directory.deletingLastPathComponent()
    }
    fatalError("softmax-mpi was not found beside \(CommandLine.arguments[0])")
  }()

  /// `timeout 60 mpirun -np ranks softmax-mpi arguments…`. Status 124 is the timeout's.
  static func run(ranks: Int, _ arguments: [String]) throws -> Result {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
    process.arguments =
      ["60", "mpirun", "--oversubscribe", "--allow-run-as-root", "-np", "\(ranks)"]
      + [executable.path] + arguments
    var environment = ProcessInfo.processInfo.environment
    environment["SWIFT_BACKTRACE"] = "enable=no"
    process.environment = environment
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // Read both pipes while the job runs, so that neither fills up.
    nonisolated(unsafe) var errorData = Data()
    let reader = Thread { errorData = errors.fileHandleForReading.readDataToEndOfFile() }
    reader.start()
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    while !reader.isFinished { usleep(1000) }
    return Result(
      status: process.terminationStatus, stdout: String(decoding: outputData, as: UTF8.self),
      stderr: String(decoding: errorData, as: UTF8.self))
  }
}

@Suite("softmax-mpi under mpirun", .serialized)
struct MPIRunTests {
  @Test("check passes on 2 and 3 ranks, one collective per call, the same bits on every rank")
  func checkPasses() throws {
    for ranks in [2, 3] {
      let result = try MPIRun.run(ranks: ranks, ["check"])
      #expect(result.status == 0, "\(ranks) ranks: \(result.stdout) \(result.stderr)")
      #expect(result.stdout.contains("collectives per sharded call: 1"))
      #expect(result.stdout.contains("same bits on every rank: yes"))
      #expect(result.stdout.contains("same bits within each group: yes"))
      #expect(result.stdout.hasSuffix("passed\n"))
    }
  }

  @Test("check fails, exit 1, when the bound is below the errors it measures")
  func checkFailsPastTheBound() throws {
    let result = try MPIRun.run(ranks: 2, ["check", "--bound", "1e-9"])
    #expect(result.status == 1, "\(result.stdout) \(result.stderr)")
    #expect(result.stdout.contains("FAILED"))
    #expect(result.stderr.contains("against the exact"))
  }

  @Test("a run is bitwise reproducible for a rank count: the same digest twice")
  func reproducible() throws {
    func digest() throws -> String? {
      let result = try MPIRun.run(ranks: 3, ["check"])
      return result.stdout.split(separator: "\n").first { $0.hasPrefix("digest: ") }.map(
        String.init)
    }
    let first = try digest()
    #expect(first != nil)
    #expect(try digest() == first)
  }

  @Test(
    "a rank that passes a different batch ends the job with a message, not a hang",
    arguments: [
      ("partition", "the ranks passed different batches"),
      ("labels", "the ranks passed different batches"),
      ("rows", "MPI_Allreduce failed: MPI_ERR_TRUNCATE"),
      ("shard", "the shard holds 63999 elements, not 64 rows × 1000 columns"),
    ])
  func mismatchedBatch(kind: String, message: String) throws {
    let ranks = kind == "shard" ? 1 : 2
    let result = try MPIRun.run(ranks: ranks, ["fault", kind])
    #expect(result.status != 0 && result.status != 124, "\(kind): status \(result.status)")
    #expect(result.stderr.contains("SoftmaxMPI: rank"), "\(kind): \(result.stderr)")
    #expect(result.stderr.contains(message), "\(kind): \(result.stderr)")
    #expect(!result.stdout.contains("no fault was detected"))
  }

  @Test(
    "a rank that dies before the collective ends the job, not a hang", arguments: ["exit", "kill"])
  func deadRank(kind: String) throws {
    let result = try MPIRun.run(ranks: 2, ["fault", kind])
    #expect(result.status != 0 && result.status != 124, "\(kind): status \(result.status)")
    #expect(!result.stdout.contains("no fault was detected"))
    #expect(result.stderr.contains("mpirun"), "\(kind): \(result.stderr)")
  }

  @Test("bench prints one CSV line per shape: one collective, 12 bytes per row and a header")
  func bench() throws {
    let result = try MPIRun.run(
      ranks: 2, ["bench", "--shape", "5x300", "--shape", "2x7", "--repetitions", "2", "--header"])
    #expect(result.status == 0, "\(result.stderr)")
    let lines = result.stdout.split(separator: "\n").map { $0.split(separator: ",") }
    #expect(lines.count == 3 && lines[0][0] == "implementation")
    for (line, rows) in zip(lines.dropFirst(), [5, 2]) where line.count == 12 {
      #expect(line[0] == "swift-softmax-mpi" && line[1] == "2" && line[2] == "\(rows)"[...])
      // Float logits: a compact normalizer (8 bytes) and the target logit (4); the header
      // takes two 12-byte records.
      #expect(line[9] == "1" && line[10] == "\(rows * 12 + 24)"[...])
      #expect(Double(line[11]).map { $0 > 0 && $0.isFinite } == true)
    }
  }

  @Test("usage errors are one line and exit 2")
  func usageErrors() throws {
    let result = try MPIRun.run(ranks: 1, ["bench", "--repetitions", "0"])
    #expect(result.status == 2)
    #expect(result.stderr.contains("softmax-mpi: --repetitions must be at least 1"))
  }
}
