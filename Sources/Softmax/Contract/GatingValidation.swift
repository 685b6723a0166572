// The checks of `moeGating`, in one place: counts, the method's parameters, overlapping
// buffers and threads. A violation is a programmer error and traps with a message that names
// the function and the problem, before anything is written.

extension _GatingCall {
  /// Checks the call; returns the number of tokens and the thread budget.
  func validated() -> (tokens: Int, threads: Int) {
    guard experts >= 1 else {
      fatalError("\(function): experts must be at least 1, not \(experts)")
    }
    guard logits.count % experts == 0 else {
      fatalError(
        "\(function): \(logits.count) logits are not a whole number of tokens of \(experts) "
          + "experts")
    }
    let tokens = logits.count / experts
    _checkGatingK(k, experts: experts, function: function)
    // At most tokens × experts = logits.count: no overflow.
    let selected = tokens * k
    guard weights.count >= selected else {
      fatalError(
        "\(function): weights has \(weights.count) elements; it needs tokens × k = "
          + "\(tokens) × \(k) = \(selected)")
    }
    guard expertIDs.count >= selected else {
      fatalError(
        "\(function): expertIDs has \(expertIDs.count) elements; it needs tokens × k = "
          + "\(tokens) × \(k) = \(selected)")
    }
    guard tokensPerExpert.count >= experts else {
      fatalError(
        "\(function): tokensPerExpert has \(tokensPerExpert.count) elements; it needs one per "
          + "expert (\(experts))")
    }
    if case .sigmoidGrouped(let bias, let groups, let topGroups, _, let scale) = method {
      checkGrouping(bias: bias, groups: groups, topGroups: topGroups, scale: scale)
    }
    checkOverlaps(selected: selected)
    return (tokens, validatedThreads(threads, count: logits.count))
  }

  private func checkGrouping(bias: [Float]?, groups: Int, topGroups: Int, scale: Float) {
    guard groups >= 1 else {
      fatalError("\(function): groups must be at least 1, not \(groups)")
    }
    guard experts % groups == 0 else {
      fatalError(
        "\(function): \(experts) experts do not split into \(groups) equal groups; groups must "
          + "divide the experts")
    }
    guard topGroups >= 1 && topGroups <= groups else {
      fatalError("\(function): topGroups must be in 1...\(groups) (the groups), not \(topGroups)")
    }
    let size = experts / groups
    guard topGroups * size >= k else {
      fatalError(
        "\(function): topGroups × experts per group = \(topGroups) × \(size) = "
          + "\(topGroups * size) experts are kept, fewer than k = \(k)")
    }
    if let bias {
      guard bias.count == experts else {
        fatalError(
          "\(function): the bias has \(bias.count) values; it needs one per expert (\(experts))")
      }
      for (expert, value) in bias.enumerated() where !value.isFinite {
        fatalError("\(function): the bias of expert \(expert) is \(value); it must be finite")
      }
    }
    guard scale.isFinite && scale >= 0 else {
      fatalError("\(function): scale must be finite and ≥ 0, not \(scale)")
    }
  }

  /// No output may overlap the logits or another output: rows are read while other rows'
  /// results are written. Six pairs, checked without building anything (no allocation).
  private func checkOverlaps(selected: Int) {
    let x = Region("the logits", logits.baseAddress, logits.count)
    let w = Region("weights", weights.baseAddress, selected)
    let ids = Region("expertIDs", expertIDs.baseAddress, selected)
    let counts = Region("tokensPerExpert", tokensPerExpert.baseAddress, experts)
    x.checkDisjoint(w, function)
    x.checkDisjoint(ids, function)
    x.checkDisjoint(counts, function)
    w.checkDisjoint(ids, function)
    w.checkDisjoint(counts, function)
    ids.checkDisjoint(counts, function)
  }
}

/// The bytes a buffer's used part spans.
private struct Region {
  let name: StaticString
  let start: UnsafeRawPointer?
  let bytes: Int

  init<T>(_ name: StaticString, _ start: UnsafePointer<T>?, _ count: Int) {
    self.name = name
    self.start = start.map(UnsafeRawPointer.init)
    bytes = count * MemoryLayout<T>.stride
  }

  init<T>(_ name: StaticString, _ start: UnsafeMutablePointer<T>?, _ count: Int) {
    self.init(name, start.map { UnsafePointer($0) }, count)
  }

  func checkDisjoint(_ other: Region, _ function: StaticString) {
    guard let a = start, let b = other.start, bytes > 0, other.bytes > 0 else { return }
    if a < b + other.bytes && b < a + bytes {
      fatalError("\(function): \(name) and \(other.name) overlap; they must be disjoint")
    }
  }
}
