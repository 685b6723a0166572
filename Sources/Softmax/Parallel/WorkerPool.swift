import Synchronization
internal import _SoftmaxX86

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
/// closure bridging may allocate; this pool allocates nothing per call. The workers are
/// created on first use, one fewer than the CPUs (the calling thread is the last worker), and
/// sleep on a condition variable between jobs. One job runs at a time: a caller that finds
/// the pool busy runs its chunks on its own thread, so concurrent callers never wait on each
/// other and results never depend on who ran which chunk.
final class WorkerPool: @unchecked Sendable {
  /// The shared pool, sized to the machine.
  static let shared = WorkerPool(workers: Swift.max(0, processorCount() - 1))

  /// Threads that can work on one job, counting the caller's.
  var maximumThreads: Int { workers + 1 }

  private let workers: Int
  private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
  private let finished = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
  private let busy = Atomic<Bool>(false)
  private let nextTask = Atomic<Int>(0)

  // Guarded by `mutex`.
  private var generation = 0
  private var body: ((Int) -> Void)?
  private var taskCount = 0
  private var helpersWanted = 0
  private var helpersDone = 0

  private init(workers: Int) {
    self.workers = workers
    pthread_mutex_init(mutex, nil)
    pthread_cond_init(wake, nil)
    pthread_cond_init(finished, nil)
    for index in 0..<workers { startWorker(index: index) }
  }

  /// Calls `body(t)` once for every t in 0..<tasks, on up to `threads` threads (the caller's
  /// included), and returns when all calls have returned. Tasks are handed out in order from a
  /// shared counter, so the set of calls is the same whatever the thread count.
  func run(tasks: Int, threads: Int, _ body: (Int) -> Void) {
    let helpers = Swift.min(threads - 1, workers, tasks - 1)
    guard helpers > 0,
      busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
    else {
      for task in 0..<tasks { body(task) }
      return
    }
    withoutActuallyEscaping(body) { body in
      nextTask.store(0, ordering: .relaxed)
      pthread_mutex_lock(mutex)
      self.body = body
      taskCount = tasks
      helpersWanted = helpers
      helpersDone = 0
      generation &+= 1
      pthread_cond_broadcast(wake)
      pthread_mutex_unlock(mutex)

      drain(body, tasks: tasks)

      pthread_mutex_lock(mutex)
      while helpersDone < helpersWanted { pthread_cond_wait(finished, mutex) }
      self.body = nil
      pthread_mutex_unlock(mutex)
    }
    busy.store(false, ordering: .releasing)
  }

  private func drain(_ body: (Int) -> Void, tasks: Int) {
    while true {
      let task = nextTask.wrappingAdd(1, ordering: .relaxed).oldValue
      guard task < tasks else { return }
      body(task)
    }
  }

  private func workerLoop(index: Int) {
    var seen = 0
    pthread_mutex_lock(mutex)
    while true {
      while generation == seen { pthread_cond_wait(wake, mutex) }
      seen = generation
      guard index < helpersWanted else { continue }
      let tasks = taskCount
      pthread_mutex_unlock(mutex)
      runShare(tasks: tasks)
      pthread_mutex_lock(mutex)
      helpersDone += 1
      if helpersDone == helpersWanted { pthread_cond_signal(finished) }
    }
  }

  /// A worker's part of the current job. The closure is copied and released inside this
  /// function, before the worker reports that it is done: the caller's
  /// `withoutActuallyEscaping` checks that no copy outlives the job. Reading `body` without
  /// the lock is safe: it was written under the lock before the wake-up, and is cleared only
  /// after every helper has reported.
  private func runShare(tasks: Int) {
    guard let body else { return }
    drain(body, tasks: tasks)
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
    pthread_detach(thread)
  }
}

/// CPUs this process may run on.
func processorCount() -> Int {
  Int(softmax_available_cpu_count())
}
