import Synchronization
internal import _SoftmaxCKernels

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A process-wide pool of worker threads that run the chunks of one long row in parallel.
///
/// Why not Dispatch: `concurrentPerform` offers no control over which threads join, and its
/// closure bridging allocates. This pool allocates nothing per call: a job is a C function
/// pointer and a pointer to the caller's job data on its stack (a Swift closure cannot be
/// shared with other threads without `withoutActuallyEscaping`, which allocates a context). The workers are
/// created on first use, one fewer than the CPUs this process may use (the calling thread is
/// the last worker). A softmax is two or three passes in quick succession, so after a job a
/// worker spins for a short while (`spinNanoseconds`) watching for the next one before it
/// sleeps on a condition variable: waking a sleeping thread costs tens of microseconds, more
/// than a pass over a mid-sized row. One job runs at a time: a caller that finds the pool busy
/// runs its chunks on its own thread, so concurrent callers never wait on each other, and
/// results never depend on who ran which chunk.
final class WorkerPool: @unchecked Sendable {
  /// The shared pool, sized to the machine.
  /// At most 65535 workers: the wanted count shares a word with the job counter.
  static let shared = WorkerPool(workers: Swift.min(0xFFFF, Swift.max(0, processorCount() - 1)))

  /// How long an idle worker, or a caller waiting for its helpers, spins before sleeping.
  static let spinNanoseconds: UInt64 = 100_000

  /// Threads that can work on one job, counting the caller's.
  var maximumThreads: Int { workers + 1 }

  private let workers: Int
  private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
  private let finished = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
  private let busy = Atomic<Bool>(false)
  private let nextTask = Atomic<Int>(0)
  /// Per job: a counter bumped once per job above the low 16 bits, which hold how many
  /// helpers the job wants. The job's fields below are published by this store (release).
  /// The wanted count travels in the same word so that a worker decides whether it takes
  /// part from that word alone: it used to read a plain `helpersWanted` after seeing the
  /// word, and a worker not wanted, descheduled in between, could read the next job's count
  /// (with 3 or more CPUs), join that job uncounted and let its caller return early.
  private let generation = Atomic<Int>(0)
  private let helpersDone = Atomic<Int>(0)
  private let sleepers = Atomic<Int>(0)

  /// A job: `invoke(context, task)` runs one task.
  typealias Invoke = @convention(c) (UnsafeMutableRawPointer, Int) -> Void

  // Written by the caller before bumping `generation`, read by workers after seeing it.
  private var context: UnsafeMutableRawPointer?
  private var invoke: Invoke?
  private var taskCount = 0

  private init(workers: Int) {
    self.workers = workers
    pthread_mutex_init(mutex, nil)
    pthread_cond_init(wake, nil)
    pthread_cond_init(finished, nil)
    for index in 0..<workers { startWorker(index: index) }
  }

  /// Calls `invoke(context, t)` once for every t in 0..<tasks, on up to `threads` threads (the
  /// caller's included), and returns when all calls have returned. Tasks are handed out in
  /// order from a shared counter, so the set of calls is the same whatever the thread count.
  func run(tasks: Int, threads: Int, context: UnsafeMutableRawPointer, invoke: Invoke) {
    let helpers = Swift.min(threads - 1, workers, tasks - 1)
    guard helpers > 0,
      busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
    else {
      for task in 0..<tasks { invoke(context, task) }
      return
    }
    self.context = context
    self.invoke = invoke
    taskCount = tasks
    helpersDone.store(0, ordering: .relaxed)
    nextTask.store(0, ordering: .relaxed)
    // Only the caller holding `busy` writes the word. Sequentially consistent, like the
    // sleepers count and the sleeping worker's load of the word: either this caller sees the
    // worker counted as a sleeper, or the worker sees this job (a release store alone may
    // pass the load of `sleepers`, and the worker would sleep through the job it is wanted
    // for; the atomic add this replaces was a full barrier on x86 only).
    let counter = (generation.load(ordering: .relaxed) >> 16) &+ 1
    generation.store((counter << 16) | helpers, ordering: .sequentiallyConsistent)
    if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
      pthread_mutex_lock(mutex)
      pthread_cond_broadcast(wake)
      pthread_mutex_unlock(mutex)
    }

    drain(context, invoke, tasks: tasks)

    if !spin(until: { self.helpersDone.load(ordering: .acquiring) == helpers }) {
      pthread_mutex_lock(mutex)
      while helpersDone.load(ordering: .acquiring) < helpers {
        pthread_cond_wait(finished, mutex)
      }
      pthread_mutex_unlock(mutex)
    }
    self.context = nil
    self.invoke = nil
    busy.store(false, ordering: .releasing)
  }

  private func drain(_ context: UnsafeMutableRawPointer, _ invoke: Invoke, tasks: Int) {
    while true {
      let task = nextTask.wrappingAdd(1, ordering: .relaxed).oldValue
      guard task < tasks else { return }
      invoke(context, task)
    }
  }

  /// Spins until `condition` holds or `spinNanoseconds` pass; returns whether it held.
  private func spin(until condition: () -> Bool) -> Bool {
    let deadline = monotonicNanoseconds() + Self.spinNanoseconds
    while true {
      for _ in 0..<64 {
        if condition() { return true }
        softmax_cpu_relax()
      }
      if monotonicNanoseconds() > deadline { return condition() }
    }
  }

  private func workerLoop(index: Int) {
    var seen = 0
    while true {
      if !spin(until: { self.generation.load(ordering: .acquiring) != seen }) {
        pthread_mutex_lock(mutex)
        sleepers.wrappingAdd(1, ordering: .sequentiallyConsistent)
        while generation.load(ordering: .sequentiallyConsistent) == seen {
          pthread_cond_wait(wake, mutex)
        }
        sleepers.wrappingSubtract(1, ordering: .sequentiallyConsistent)
        pthread_mutex_unlock(mutex)
      }
      seen = generation.load(ordering: .acquiring)
      // Not wanted: touch nothing of the job. Wanted: its caller waits for this worker, so
      // the fields stay those of this job until `helpersDone` counts it.
      guard index < seen & 0xFFFF, let context, let invoke else { continue }
      drain(context, invoke, tasks: taskCount)
      helpersDone.wrappingAdd(1, ordering: .releasing)
      // The caller may have stopped spinning and gone to sleep.
      pthread_mutex_lock(mutex)
      pthread_cond_signal(finished)
      pthread_mutex_unlock(mutex)
    }
  }

  private func startWorker(index: Int) {
    final class Start {
      let pool: WorkerPool
      let index: Int
      init(_ pool: WorkerPool, _ index: Int) {
        self.pool = pool
        self.index = index
      }
    }
    let context = Unmanaged.passRetained(Start(self, index)).toOpaque()
    #if canImport(Darwin)
      var thread: pthread_t?
    #else
      var thread = pthread_t()
    #endif
    let result = pthread_create(
      &thread, nil,
      { raw in
        #if canImport(Darwin)
          let start = Unmanaged<Start>.fromOpaque(raw).takeRetainedValue()
        #else
          let start = Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue()
        #endif
        start.pool.workerLoop(index: start.index)
        return nil
      }, context)
    precondition(result == 0, "softmax: could not start a worker thread (error \(result))")
    #if canImport(Darwin)
      // Darwin's pthread_t is a non-null pointer, set by a successful pthread_create.
      pthread_detach(thread!)
    #else
      pthread_detach(thread)
    #endif
  }
}

/// CPUs this process may run on (its affinity mask on Linux).
func processorCount() -> Int {
  Int(softmax_available_cpu_count())
}

private func monotonicNanoseconds() -> UInt64 {
  var now = timespec()
  clock_gettime(CLOCK_MONOTONIC, &now)
  return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// Work for the pool: a value whose `run(task:)` may be called from any thread, once per task.
/// Every parallel loop of the package is one of these run by `WorkerPool.perform`, so none of
/// them builds its own C trampoline.
protocol PoolJob {
  func run(task: Int)
}

extension WorkerPool {
  /// Runs `job.run(task:)` for every task in 0..<tasks on up to `threads` threads (the
  /// caller's included), in order on the calling thread when one thread or one task is asked
  /// for. Nothing is allocated: the job stays on the caller's stack.
  func perform<Job: PoolJob>(_ job: Job, tasks: Int, threads: Int) {
    if tasks <= 1 || threads <= 1 {
      for task in 0..<tasks { job.run(task: task) }
      return
    }
    var job = job
    withUnsafeMutablePointer(to: &job) { pointer in
      #if DEBUG
        // Through the job's type: nothing to allocate, and speed does not matter here.
        var erased = ErasedJob(job: UnsafeMutableRawPointer(pointer), type: Job.self)
      #else
        // A closure made here, in the code specialized for `Job`, runs the specialized
        // `run(task:)`; it captures nothing but the pointer, so it needs no allocation
        // (checked by the release run of the allocation tests). Calling the job through its
        // type (an existential metatype), as the debug build does, runs the unspecialized
        // generic `run(task:)`, which looked up generic metadata on every row: training rows
        // of 1024 elements took longer on two threads than on one (2026-12-01).
        var erased = ErasedJob(job: UnsafeMutableRawPointer(pointer)) { job, task in
          job.assumingMemoryBound(to: Job.self).pointee.run(task: task)
        }
      #endif
      withUnsafeMutablePointer(to: &erased) { context in
        run(tasks: tasks, threads: threads, context: context) { context, task in
          context.assumingMemoryBound(to: ErasedJob.self).pointee.run(task: task)
        }
      }
    }
  }
}

/// A job and how to run one of its tasks, for the pool's C function pointer.
private struct ErasedJob {
  let job: UnsafeMutableRawPointer
  #if DEBUG
    let type: any PoolJob.Type

    func run(task: Int) { type.run(job, task: task) }
  #else
    let runTask: (UnsafeMutableRawPointer, Int) -> Void

    init(job: UnsafeMutableRawPointer, _ runTask: @escaping (UnsafeMutableRawPointer, Int) -> Void)
    {
      self.job = job
      self.runTask = runTask
    }

    func run(task: Int) { runTask(job, task) }
  #endif
}

#if DEBUG
  extension PoolJob {
    /// Calls `run(task:)` on the job at `job`.
    static func run(_ job: UnsafeMutableRawPointer, task: Int) {
      job.assumingMemoryBound(to: Self.self).pointee.run(task: task)
    }
  }
#endif
