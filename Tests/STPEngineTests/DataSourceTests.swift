import Foundation
import STPTestSupport
import Testing
@testable import STPEngine

@Suite struct DataSourceTests {
    let env = ["HOME": "/home/u"]

    @Test func parsesEveryKind() throws {
        #expect(try DataSource(parsing: "builtin", environment: env) == .builtin(seed: 0, train: 10_000, test: 2_000))
        #expect(try DataSource(parsing: "builtin:seed=5,test=300", environment: env) == .builtin(seed: 5, train: 10_000, test: 300))
        #expect(try DataSource(parsing: "builtin:train=1_000,seed=2,test=10", environment: env) == .builtin(seed: 2, train: 1000, test: 10))
        #expect(try DataSource(parsing: "cifar10:/d/c10", environment: env) == .cifar10(path: "/d/c10"))
        #expect(try DataSource(parsing: "CIFAR100:rel/dir", environment: env) == .cifar100(path: "rel/dir"))
        #expect(try DataSource(parsing: "mnist:~/m", environment: env).spec.hasSuffix("/m"))
        #expect(try DataSource(parsing: "fashion-mnist:/f", environment: env) == .fashionMNIST(path: "/f"))
        // Without a path: the `stp data get` cache.
        #expect(try DataSource(parsing: "cifar10", environment: env) == .cifar10(path: "/home/u/.cache/stp/data/cifar10"))
        #expect(try DataSource(parsing: "mnist", environment: ["STP_CACHE": "/c"]) == .mnist(path: "/c/data/mnist"))
        // spec round-trips.
        for s in ["builtin:seed=3,train=20,test=5", "cifar10:/x", "cifar100:/y", "mnist:/z", "fashion-mnist:/w"] {
            #expect(try DataSource(parsing: s, environment: env).spec == s)
        }
        #expect(DataSource.builtin(seed: 1, train: 2, test: 3).description == "built-in shapes (seed 1, 2 train / 3 test)")
        #expect(DataSource.cifar10(path: "/p").description == "CIFAR-10 from /p")
    }

    @Test func rejectsBadSpecsWithHelpfulMessages() {
        let unknown = errorMessage { _ = try DataSource(parsing: "imagenet:/x", environment: env) }
        #expect(unknown?.contains("unknown data set 'imagenet'") == true)
        #expect(unknown?.contains("builtin, cifar10, cifar100, mnist, fashion-mnist") == true)
        #expect(errorMessage { _ = try DataSource(parsing: "builtin:seed=-1", environment: env) }?.contains("seed") == true)
        #expect(errorMessage { _ = try DataSource(parsing: "builtin:train=0", environment: env) }?.contains("train '0'") == true)
        #expect(errorMessage { _ = try DataSource(parsing: "builtin:size=3", environment: env) }?.contains("unknown builtin option 'size'") == true)
        #expect(errorMessage { _ = try DataSource(parsing: "builtin:seed", environment: env) }?.contains("KEY=VALUE") == true)
    }

    @Test func loadsBuiltinAndFiles() throws {
        let s = try DataSource(parsing: "builtin:seed=4,train=20,test=10").load()
        #expect(s.train.count == 20 && s.test.count == 10)
        #expect(s.train.pixels == BuiltinShapes.generate(trainCount: 20, testCount: 10, seed: 4).train.pixels)
        let missing = errorMessage { _ = try DataSource(parsing: "cifar10:/nonexistent/stp").load() }
        #expect(missing?.hasPrefix("/nonexistent/stp") == true)
    }

    @Test(.enabled(if: SharedFiles.available(SharedFiles.cifar10 + "/data_batch_1.bin"), "needs the real CIFAR-10 in ../shared/data/cifar10"))
    func loadsTheRealCIFAR10() throws {
        #expect(try DataSource(parsing: "cifar10:" + SharedFiles.cifar10).load().test.count == 10_000)
    }
}
