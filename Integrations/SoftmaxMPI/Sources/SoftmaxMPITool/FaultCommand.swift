import ArgumentParser
import Softmax
import SoftmaxMPI

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// `softmax-mpi fault KIND` (hidden, for the tests): the last rank misbehaves in one way
/// during a sharded cross-entropy; the job must end with a message, never hang.
struct FaultCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "fault",
    abstract: "Make the last rank misbehave during a sharded cross-entropy (for tests).",
    shouldDisplay: false)

  enum Kind: String, ExpressibleByArgument, CaseIterable {
    /// A different row count: a message of a different length.
    case rows
    /// A different partition of the classes.
    case partition
    /// Different labels.
    case labels
    /// A shard of the wrong size.
    case shard
    /// Exits before the collective, without MPI_Finalize.
    case exit
    /// Killed by SIGKILL before the collective.
    case kill
  }

  @Argument(help: "rows, partition, labels, shard, exit or kill")
  var kind: Kind

  @Option(help: "The row count of the batch (the culprit's, with rows, one more).")
  var rows = 64

  @Option(help: "The class count of the batch.")
  var classes = 1000

  func run() throws {
    MPIEnvironment.initialize()
    defer { MPIEnvironment.finalize() }
    let world = Communicator.world
    let culprit = world.rank == world.size - 1
    var rows = self.rows
    var partition = ClassPartition.even(classes: classes, parts: world.size)
    if culprit {
      switch kind {
      case .rows: rows += 1
      case .partition where world.size > 1:
        var bounds = partition.bounds
        bounds[world.size - 1] -= 1
        partition = ClassPartition(bounds: bounds)
      case .exit: Glibc.exit(3)
      case .kill: kill(getpid(), SIGKILL)
      default: break
      }
    }
    let sharded = ShardedSoftmax(communicator: world, partition: partition)
    var shard = seededShard(
      seed: 5, rows: rows, classes: classes, columns: sharded.columns, scale: 4)
    if culprit && kind == .shard { shard.removeLast() }
    var labels = (0..<rows).map { seededLabel(seed: 5, row: $0, classes: classes) }
    if culprit && kind == .labels { labels[0] = (labels[0] + 1) % Int32(classes) }
    let loss = shard.withUnsafeBufferPointer { x in
      labels.withUnsafeBufferPointer { l in
        sharded.crossEntropy(logits: x, rows: rows, labels: l)
      }
    }
    if world.rank == 0 { writeLine(to: 1, "loss \(loss): no fault was detected") }
  }
}
