import ArgumentParser
import Softmax
import SoftmaxMPI

/// `softmax-mpi bench`: the sharded cross-entropy (loss and gradient, `.mean`) on seeded rows
/// split evenly over the ranks; per batch the time (the slowest rank's, median over the runs),
/// the time inside the collective, the collectives and the bytes each rank sent into them.
/// One CSV line per shape, in the format of scripts/peer_mpi.py (the mpi4py peer).
struct BenchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench",
    abstract: "Time the sharded cross-entropy (loss + gradient) per batch; CSV on stdout.")

  @Option(help: "A batch shape ROWSxCLASSES (repeatable).")
  var shape: [BatchShape] = [BatchShape(rows: 8, classes: 128_256)]

  @Option(help: "Timed runs per shape.")
  var repetitions = 10

  @Option(help: "Untimed runs before them.")
  var warmup = 2

  @Option(help: "The seed of the rows and labels (the peer's --seed).")
  var seed: UInt64 = 1

  @Option(help: "Logits are uniform in [-scale, scale).")
  var scale: Float = 10

  @Flag(help: "Print the CSV header first.")
  var header = false

  @Flag(
    help: """
      Time the single-process library's crossEntropy on the whole rows instead (one rank \
      only): the reference for the sharded figures.
      """)
  var library = false

  func validate() throws {
    if repetitions < 1 { throw ValidationError("--repetitions must be at least 1") }
    if warmup < 0 { throw ValidationError("--warmup must not be negative") }
  }

  func run() throws {
    MPIEnvironment.initialize()
    defer { MPIEnvironment.finalize() }
    let world = Communicator.world
    if header && world.rank == 0 { writeLine(to: 1, benchHeader) }
    if library {
      if world.size != 1 { world.fail("bench --library runs on one rank, not \(world.size)") }
      for s in shape { timeLibrary(s) }
      return
    }
    for s in shape {
      let partition = ClassPartition.even(classes: s.classes, parts: world.size)
      let sharded = ShardedSoftmax(communicator: world, partition: partition)
      let shard = seededShard(
        seed: seed, rows: s.rows, classes: s.classes, columns: sharded.columns, scale: scale)
      let labels = (0..<s.rows).map { seededLabel(seed: seed, row: $0, classes: s.classes) }
      var gradient = [Float](repeating: 0, count: shard.count)
      var times = [Double]()
      var collectiveTimes = [Double]()
      var loss = 0.0
      var collectives = 0
      var bytes = 0
      for run in 0..<(warmup + repetitions) {
        world.barrier()
        world.counters.reset()
        let start = MPIEnvironment.time
        loss = sharded.crossEntropy(
          logits: shard, rows: s.rows, labels: labels, gradient: &gradient)
        let elapsed = MPIEnvironment.time - start
        let slowest = world.maximum(elapsed)
        let slowestCollective = world.maximum(world.counters.seconds)
        if run >= warmup {
          times.append(slowest)
          collectiveTimes.append(slowestCollective)
        }
        collectives = world.counters.collectives
        bytes = world.counters.bytes
      }
      if world.rank == 0 {
        let t = times.sorted()
        let fields: [String] = [
          "swift-softmax-mpi", "\(world.size)", "\(s.rows)", "\(s.classes)",
          milliseconds(median(t)), milliseconds(t.first!), milliseconds(t.last!), "\(t.count)",
          milliseconds(median(collectiveTimes.sorted())), "\(collectives)", "\(bytes)",
          "\(loss)",
        ]
        writeLine(to: 1, fields.joined(separator: ","))
      }
    }
  }
}

extension BenchCommand {
  /// The library's fused crossEntropy (loss and gradient, `.mean`) on the whole rows.
  func timeLibrary(_ s: BatchShape) {
    let logits = seededShard(
      seed: seed, rows: s.rows, classes: s.classes, columns: 0..<s.classes, scale: scale)
    let labels = (0..<s.rows).map { seededLabel(seed: seed, row: $0, classes: s.classes) }
    var gradient = [Float](repeating: 0, count: logits.count)
    var times = [Double]()
    var loss: Float = 0
    for run in 0..<(warmup + repetitions) {
      let start = MPIEnvironment.time
      loss = crossEntropy(
        logits: logits, shape: [s.rows, s.classes], labels: labels, gradient: &gradient,
        threads: 1)
      let elapsed = MPIEnvironment.time - start
      if run >= warmup { times.append(elapsed) }
    }
    let t = times.sorted()
    let fields: [String] = [
      "swift-softmax-library", "1", "\(s.rows)", "\(s.classes)", milliseconds(median(t)),
      milliseconds(t.first!), milliseconds(t.last!), "\(t.count)", "0", "0", "0", "\(loss)",
    ]
    writeLine(to: 1, fields.joined(separator: ","))
  }
}

let benchHeader =
  "implementation,ranks,rows,classes,median_ms,min_ms,max_ms,runs,collective_median_ms,"
  + "collectives_per_batch,bytes_per_rank_per_batch,loss"

func median(_ sorted: [Double]) -> Double {
  let n = sorted.count
  return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
}

func milliseconds(_ seconds: Double) -> String {
  let ms = seconds * 1000
  let digits = ms >= 100 ? 1 : ms >= 1 ? 3 : 4
  var p = 1.0
  for _ in 0..<digits { p *= 10 }
  return "\((ms * p).rounded() / p)"
}
