// The multiclass hinge loss, the SVM heads' alternative to softmax cross-entropy.

/// The multiclass hinge loss (PyTorch's MultiMarginLoss, the SVM heads' loss instead of
/// softmax): L = Σ_{i ≠ label} max(0, margin − x_label + x_i)^p / C with p = 1, or 2 for the
/// squared hinge; gradient p · h_i^(p−1) / C for each i ≠ label with h_i > 0 and minus their
/// sum at the label, times `weight`. NaN anywhere in the row gives NaN.
struct HingeRow<Compute: TrainingCompute>: TrainingRow {
  let labels: RowLabels
  let margin: Double
  let squared: Bool
  let weight: Double
  let losses: UnsafeMutablePointer<Double>

  var rewritesInput: Bool { false }

  func row(
    _ a: UnsafePointer<Compute>, _ b: UnsafePointer<Compute>?,
    _ out: UnsafeMutablePointer<Compute>?,
    count n: Int, index: Int, threads: Int
  ) {
    guard let label = labels.label(ofRow: index, losses: losses, gradient: out, count: n)
    else { return }
    let xl = Double(a[label])
    let classes = Double(n)
    var loss = 0.0
    var labelGradient = 0.0
    for i in 0..<n where i != label {
      let h = margin - xl + Double(a[i])
      if h.isNaN {
        loss = .nan
        out?[i] = .nan
        continue
      }
      let positive = h > 0
      loss += positive ? (squared ? h * h : h) : 0
      let g = positive ? (squared ? 2 * h : 1) / classes : 0
      labelGradient -= g
      out?[i] = Compute(weight * g)
    }
    losses[index] = loss / classes
    out?[label] = loss.isNaN ? .nan : Compute(weight * labelGradient)
  }
}
