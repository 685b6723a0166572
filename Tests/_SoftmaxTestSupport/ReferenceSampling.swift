import Foundation
import Softmax

/// The documented order of `SamplingOptions`, written plainly: a full sort, every weight in
/// Double. The independent reference of the sampling tests.
public enum ReferenceSampling {
  /// The kept tokens and their renormalized probabilities, most probable first.
  public static func distribution(
    _ logits: [Float], options: SamplingOptions, history: [Int] = []
  ) -> [(token: Int, probability: Double)] {
    var x = logits
    // Penalties in Float, as documented (the logits are Float).
    var occurrences: [Int: Int] = [:]
    for token in history { occurrences[token, default: 0] += 1 }
    for (token, c) in occurrences {
      var v = x[token]
      if options.repetitionPenalty != 1 {
        v = v > 0 ? v / options.repetitionPenalty : v * options.repetitionPenalty
      }
      v -= Float(c) * options.frequencyPenalty + options.presencePenalty
      x[token] = v
    }
    let order = x.indices.filter { !x[$0].isNaN }.sorted {
      x[$0] > x[$1] || (x[$0] == x[$1] && $0 < $1)
    }
    guard let top = order.first, x[top] > -.infinity else { return [] }
    if options.temperature == 0 { return [(top, 1)] }
    if x[top] == .infinity {
      var kept = order.filter { x[$0] == .infinity }
      if options.topK > 0 { kept = Array(kept.prefix(options.topK)) }
      if options.topP < 1 {
        kept = Array(
          kept.prefix(max(1, Int((Double(options.topP) * Double(kept.count)).rounded(.up)))))
      }
      return kept.map { ($0, 1 / Double(kept.count)) }
    }
    let m = Double(x[top])
    let t = Double(options.temperature)
    let z = { (i: Int) in (Double(x[i]) - m) / t }
    var kept = order.filter { exp(z($0)) >= 0x1p-126 }
    if options.topK > 0 { kept = Array(kept.prefix(options.topK)) }
    if options.topP < 1 {
      let total = kept.reduce(0.0) { $0 + exp(z($1)) }
      var sum = 0.0
      var length = 0
      for i in kept {
        sum += exp(z(i))
        length += 1
        if sum >= Double(options.topP) * total { break }
      }
      kept = Array(kept.prefix(length))
    }
    if options.minP > 0 {
      kept = kept.filter { z($0) >= log(Double(options.minP)) }
    }
    let total = kept.reduce(0.0) { $0 + exp(z($1)) }
    return kept.map { ($0, exp(z($0)) / total) }
  }

  /// log p of every token under the whole softmax at `temperature`, in Double.
  public static func logProbabilities(_ logits: [Float], temperature: Float) -> [Double] {
    let finite = logits.filter { !$0.isNaN }
    let m = Double(finite.max() ?? 0)
    let t = Double(temperature)
    let total = finite.reduce(0.0) { $0 + exp((Double($1) - m) / t) }
    return logits.map { (Double($0) - m) / t - log(total) }
  }
}
