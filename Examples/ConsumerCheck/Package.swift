// swift-tools-version: 6.0
// A consumer of swift-softmax exactly as a user's package would be: it depends on the library
// by version and builds with no flags of its own. scripts/check-consumer.sh builds it against
// a tagged throw-away clone of the repository, passing that clone's URL and tag in
// SOFTMAX_PACKAGE_URL and SOFTMAX_PACKAGE_VERSION. Without them (opened by hand) it uses the
// checkout two folders up as a local package.
import PackageDescription

let environment = Context.environment
let location = environment["SOFTMAX_PACKAGE_URL"]

var requestedVersion: Version {
  let text = environment["SOFTMAX_PACKAGE_VERSION"] ?? "9.9.9"
  guard let version = Version(text) else {
    fatalError("SOFTMAX_PACKAGE_VERSION=\(text) is not a semantic version")
  }
  return version
}

let softmaxPackage: Package.Dependency =
  if let location {
    .package(url: location, from: requestedVersion)
  } else {
    .package(path: "../..")
  }

// SwiftPM names a dependency after the last component of its URL or path (the clone is
// `…/swift-softmax`; a checkout may live in a folder of any name), lowercased.
let softmaxIdentity: String = {
  var components = (location ?? Context.packageDirectory).split(separator: "/").map(String.init)
  if location == nil { components.removeLast(2) }  // "../.."
  var name = components.last ?? "swift-softmax"
  if name.hasSuffix(".git") { name.removeLast(4) }
  return name.lowercased()
}()

let package = Package(
  name: "ConsumerCheck",
  // What swift-softmax needs (Synchronization.Atomic); Linux needs no entry.
  platforms: [.macOS(.v15), .iOS(.v18), .tvOS(.v18), .watchOS(.v11), .visionOS(.v2)],
  dependencies: [softmaxPackage],
  targets: [
    .executableTarget(
      name: "ConsumerCheck",
      dependencies: [.product(name: "Softmax", package: softmaxIdentity)])
  ]
)
