// Every check of the public entry points, in one place: buffers, shapes and axes, threads,
// temperatures and masks. A violation is a programmer error and traps with a message that
// names the function and the problem.

/// Traps, naming `function`, unless the buffers have the same count and are identical or
/// disjoint. Inlined: a few compares on every call, the messages out of line.
@inline(__always)
func checkBuffers<Element>(
  _ function: StaticString, _ input: UnsafeBufferPointer<Element>,
  _ output: UnsafeMutableBufferPointer<Element>
) {
  guard input.count == output.count else {
    mismatchedCounts(function, input.count, output.count)
  }
  guard let x = input.baseAddress, let y = output.baseAddress else { return }
  let xs = UnsafeRawPointer(x)
  let ys = UnsafeRawPointer(y)
  let bytes = input.count * MemoryLayout<Element>.stride
  if xs != ys && xs < ys + bytes && ys < xs + bytes { overlappingBuffers(function) }
}

@inline(never)
private func mismatchedCounts(_ function: StaticString, _ input: Int, _ output: Int) -> Never {
  fatalError(
    "\(function): the input has \(input) elements but the output has \(output); "
      + "they must have the same count")
}

@inline(never)
private func overlappingBuffers(_ function: StaticString) -> Never {
  fatalError(
    "\(function): the input and the output overlap without being the same buffer; "
      + "pass the same buffer for in-place use or disjoint buffers")
}

/// Traps unless `threads` is nil or at least 1. Inlined, the message out of line.
@inline(__always)
func checkThreads(_ threads: Int?) {
  if let threads, threads < 1 { invalidThreads(threads) }
}

@inline(never)
private func invalidThreads(_ threads: Int) -> Never {
  fatalError("softmax: threads must be nil (automatic) or at least 1, not \(threads)")
}

/// The thread count for a row, after checking the caller's request.
func validatedThreads(_ threads: Int?, count: Int) -> Int {
  checkThreads(threads)
  return AutoPolicy.threads(forCount: count, requested: threads)
}

/// A row-major array's shape split around the axis of an operation: `outer` independent
/// blocks, each `length` steps along the axis, each step `inner` contiguous elements apart.
struct AxisLayout {
  let outer: Int
  let length: Int
  let inner: Int

  /// One contiguous row of `count` elements.
  init(row count: Int) {
    (outer, length, inner) = (1, count, 1)
  }

  /// Checks `shape` and `axis` against `count`, trapping with a message that names `function`
  /// and the problem. `axis` may be negative, counting from the last axis (−1). A shape whose
  /// element count does not fit in `Int` traps too: it can never describe a buffer.
  init(shape: [Int], axis: Int, count: Int, function: StaticString) {
    guard !shape.isEmpty else {
      fatalError("\(function): the shape must have at least one dimension")
    }
    for dimension in shape where dimension < 0 {
      fatalError("\(function): shape \(shape) has a negative dimension \(dimension)")
    }
    guard (-shape.count..<shape.count).contains(axis) else {
      fatalError(
        "\(function): axis \(axis) is out of range for a shape of rank \(shape.count) "
          + "(use \(-shape.count)...\(shape.count - 1))")
    }
    // Plain loops: no closures, so that even a debug build allocates nothing here. A zero
    // dimension makes the count 0 whatever the others are; otherwise the product must fit.
    var total = 1
    var overflow = false
    for dimension in shape {
      let (product, overflowed) = total.multipliedReportingOverflow(by: dimension)
      total = product
      overflow = overflow || overflowed
    }
    if shape.contains(0) {
      total = 0
    } else if overflow {
      fatalError(
        "\(function): shape \(shape) has more elements than Int can count; the buffers have "
          + "\(count)")
    }
    guard total == count else {
      fatalError(
        "\(function): shape \(shape) has \(total) elements but the buffers have \(count)")
    }
    let index = axis < 0 ? axis + shape.count : axis
    length = shape[index]
    guard total > 0 else {
      // Nothing to compute; the other products may not even fit in Int.
      (outer, inner) = (0, 1)
      return
    }
    var outer = 1
    var inner = 1
    for position in shape.indices where position != index {
      if position < index { outer *= shape[position] } else { inner *= shape[position] }
    }
    self.outer = outer
    self.inner = inner
  }
}

/// Traps, naming `function`, unless `temperature` (in the caller's type, for the message) is
/// finite and at least 0.
func checkTemperature<T: BinaryFloatingPoint>(_ temperature: T, function: StaticString) {
  guard temperature.isFinite, temperature >= 0 else {
    fatalError("\(function): temperature must be finite and ≥ 0, not \(temperature)")
  }
}

/// A checked call of a shaped entry point: its layout, thread budget, and what its row
/// settings need from the shape.
struct AxisCall {
  let layout: AxisLayout
  /// The thread budget, resolved.
  let threads: Int

  /// Checks the buffers, shape, axis, thread count and `settings` together and completes the
  /// settings from the shape (mask stride, queries of a causal mask).
  init<Element>(
    _ input: UnsafeBufferPointer<Element>, _ output: UnsafeMutableBufferPointer<Element>,
    shape: [Int], axis: Int, threads: Int?, settings: inout RowSettings,
    function: StaticString
  ) {
    checkBuffers(function, input, output)
    let layout = AxisLayout(shape: shape, axis: axis, count: input.count, function: function)
    settings.complete(for: layout, shape: shape, count: input.count, function: function)
    self.layout = layout
    self.threads = validatedThreads(threads, count: input.count)
  }

  /// A checked one-row call: the whole buffer is one row.
  init<Element>(
    _ input: UnsafeBufferPointer<Element>, _ output: UnsafeMutableBufferPointer<Element>,
    threads: Int?, function: StaticString
  ) {
    checkBuffers(function, input, output)
    layout = AxisLayout(row: input.count)
    self.threads = validatedThreads(threads, count: input.count)
  }
}

extension RowSettings {
  /// Checks the settings against the layout and fills in what depends on the shape, trapping
  /// with a message that names `function` and the problem.
  mutating func complete(for layout: AxisLayout, shape: [Int], count: Int, function: StaticString) {
    guard mask != .none || sink != nil else { return }
    guard layout.inner == 1 else {
      fatalError("\(function): masks and sinks apply to the last axis")
    }
    if let values = mask.valueCount {
      guard values == layout.length || values == count else {
        fatalError(
          "\(function): the mask has \(values) values; it needs one per row element "
            + "(\(layout.length)) or one per array element (\(count))")
      }
      maskStride = values == layout.length ? 0 : layout.length
    }
    if case .causal = mask {
      guard shape.count >= 2 else {
        fatalError("\(function): a causal mask needs a shape [..., queries, keys] of rank ≥ 2")
      }
      queries = Swift.max(1, shape[shape.count - 2])
    }
  }
}

/// Traps, naming `function`, unless the sampling options, the row and the history are valid.
func checkSampling(
  _ options: SamplingOptions, count: Int, history: [Int], function: StaticString
) {
  checkTemperature(options.temperature, function: function)
  guard count >= 1 else { fatalError("\(function): the logits are empty; a row needs a token") }
  guard count < 1 << 31 else {
    fatalError("\(function): a row of \(count) logits is too long (at most 2^31 − 1)")
  }
  guard options.topK >= 0 else {
    fatalError("\(function): topK must be at least 0 (0 keeps every token), not \(options.topK)")
  }
  guard options.topP > 0 && options.topP <= 1 else {
    fatalError("\(function): topP must be in (0, 1] (1 keeps every token), not \(options.topP)")
  }
  guard options.minP >= 0 && options.minP < 1 else {
    fatalError("\(function): minP must be in [0, 1) (0 keeps every token), not \(options.minP)")
  }
  guard options.repetitionPenalty.isFinite && options.repetitionPenalty > 0 else {
    fatalError(
      "\(function): repetitionPenalty must be finite and > 0 (1 for none), "
        + "not \(options.repetitionPenalty)")
  }
  guard options.frequencyPenalty.isFinite && options.presencePenalty.isFinite else {
    fatalError(
      "\(function): frequencyPenalty and presencePenalty must be finite, not "
        + "\(options.frequencyPenalty) and \(options.presencePenalty)")
  }
  for token in history where !(0..<count).contains(token) {
    fatalError("\(function): history token \(token) is out of range for \(count) logits")
  }
}
