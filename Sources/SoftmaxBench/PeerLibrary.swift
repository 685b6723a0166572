import Foundation
import Softmax

/// A softmax kernel of another project, loaded from a shared library (`--peer-library`) and
/// timed as a subject of the sweep: in the same rounds, on the same buffers and with the same
/// method as the library's algorithms, so the ratios come from one run. Rows are "peer" rows.
///
/// The library exports this C interface (`scripts/xnnpack/softmax_peer.h`, version 1):
///
///     int softmax_peer_abi_version(void);            // 1
///     int softmax_peer_count(void);
///     const char *softmax_peer_name(int index);
///     const char *softmax_peer_detail(int index);    // what it runs, for the source column
///     int softmax_peer_reads(int index);             // whole-row reads per element
///     int softmax_peer_writes(int index);            // whole-row writes per element
///     int softmax_peer_supported(int index);         // 1 if this CPU can run it
///     void softmax_peer_run(int index, const float *x, float *y, size_t n);
public struct PeerKernel: Sendable, Hashable {
  /// The name in tables, CSV rows and charts.
  public var name: String
  /// What it runs (the source column).
  public var detail: String
  /// Its reads and writes per element, as the library declares them.
  public var traffic: MemoryTraffic
  /// The library's file name.
  public var library: String
  /// Its index in the library.
  var index: Int32
  /// `softmax_peer_run`, as an address: the library stays loaded for the process.
  var runAddress: UInt

  private typealias RunFunction =
    @convention(c) (Int32, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void

  /// One call: the softmax of `count` floats of `input` into `output`.
  func run(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, count: Int) {
    let function = unsafeBitCast(
      UnsafeRawPointer(bitPattern: runAddress)!, to: RunFunction.self)
    function(index, input, output, count)
  }

  /// The kernels of the library at `path` that this CPU can run, in the library's order, and
  /// the names of those it cannot; every problem with the file is a one-line ``BenchError``.
  static func load(path: String) throws -> (kernels: [PeerKernel], unsupported: [String]) {
    guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
      let reason = dlerror().map { String(cString: $0) } ?? "unknown reason"
      throw BenchError("--peer-library: cannot load '\(path)': \(reason)")
    }
    func symbol(_ name: String) throws -> UnsafeMutableRawPointer {
      guard let address = dlsym(handle, name) else {
        throw BenchError(
          "--peer-library: '\(path)' has no \(name) (see scripts/xnnpack/softmax_peer.h)")
      }
      return address
    }
    typealias Count = @convention(c) () -> Int32
    typealias Integer = @convention(c) (Int32) -> Int32
    typealias Text = @convention(c) (Int32) -> UnsafePointer<CChar>?
    let version = unsafeBitCast(try symbol("softmax_peer_abi_version"), to: Count.self)()
    guard version == 1 else {
      throw BenchError(
        "--peer-library: '\(path)' speaks version \(version) of the peer interface, not 1")
    }
    let count = unsafeBitCast(try symbol("softmax_peer_count"), to: Count.self)()
    let name = unsafeBitCast(try symbol("softmax_peer_name"), to: Text.self)
    let detail = unsafeBitCast(try symbol("softmax_peer_detail"), to: Text.self)
    let reads = unsafeBitCast(try symbol("softmax_peer_reads"), to: Integer.self)
    let writes = unsafeBitCast(try symbol("softmax_peer_writes"), to: Integer.self)
    let supported = unsafeBitCast(try symbol("softmax_peer_supported"), to: Integer.self)
    let run = UInt(bitPattern: try symbol("softmax_peer_run"))
    guard (0...64).contains(count) else {
      throw BenchError("--peer-library: '\(path)' reports \(count) kernels")
    }
    var kernels: [PeerKernel] = []
    var unsupported: [String] = []
    for index in 0..<count {
      guard let text = name(index).map({ String(cString: $0) }), !text.isEmpty else {
        throw BenchError("--peer-library: '\(path)' has no name for kernel \(index)")
      }
      let (r, w) = (reads(index), writes(index))
      guard (1...8).contains(r), (1...8).contains(w) else {
        throw BenchError(
          "--peer-library: kernel '\(text)' of '\(path)' declares \(r) reads and \(w) writes")
      }
      guard supported(index) == 1 else {
        unsupported.append(text)
        continue
      }
      kernels.append(
        PeerKernel(
          name: text, detail: detail(index).map { String(cString: $0) } ?? text,
          traffic: MemoryTraffic(reads: Int(r), writes: Int(w)),
          library: (path as NSString).lastPathComponent, index: index,
          runAddress: run))
    }
    return (kernels, unsupported)
  }
}
