import Testing
@testable import STPEngine
@testable import STPMethod

// The method's benchmarks run what they say (figures are reported, never asserted).

@Test func benchmarkOfAPrunedArchitectureRunsTheExtractedNetwork() throws {
    var o = BenchmarkOptions()
    o.batch = 4; o.imageSize = 8; o.iterations = 2; o.warmup = 0; o.mode = .infer
    let r = try MethodBenchmark.run(o, architecture: "d=1,2,1 w=5|7,9|20")
    #expect(r.architecture == "d=1,2,1 w=5|7,9|20")
    #expect(r.model == "resnet20-pruned")
    let spec = try Extraction.extractedSpec(of: try o.spec(), architecture: try Architecture(parsing: "d=1,2,1 w=5|7,9|20"))
    #expect(r.macsPerImage == ModelSummary(spec: spec).totalMACs)
    let full = ModelSummary(spec: try o.spec()).totalMACs
    #expect(r.macsPerImage < full)
    #expect(throws: STPError.self) { try MethodBenchmark.run(o, architecture: "d=9,9,9 w=1|1|1") }
}

@Test func searchBenchmarkTimesDistinctCandidateEvaluations() throws {
    var o = BenchmarkOptions()
    o.batch = 8; o.imageSize = 8; o.iterations = 3; o.warmup = 1; o.mode = .search
    let r = try MethodBenchmark.search(o, fitnessImages: 16, recalibrationImages: 16)
    #expect(r.evaluations == 3)
    #expect(r.evaluationsPerSecond.median > 0)
    #expect(r.secondsPerEvaluation.min <= r.secondsPerEvaluation.median && r.secondsPerEvaluation.median <= r.secondsPerEvaluation.max)
    let full = ModelSummary(spec: try o.spec()).totalMACs
    #expect(r.meanCandidateMACs > 0 && r.meanCandidateMACs <= full)
}

@Test func latencyModelBenchmarkChecksTheSmallestTheFullAndRandomNetworks() throws {
    var o = BenchmarkOptions()
    o.imageSize = 8; o.mode = .latencyModel
    let r = try MethodBenchmark.latencyModel(o, checks: 3)
    let rows = try #require(r.model1.latency.check?.rows)
    #expect(rows.count == 3)
    let space = try ArchitectureSpace(spec: try o.spec())
    #expect(rows[0].architecture == space.smallest.text && rows[1].architecture == space.largest.text)
    #expect(r.model1.throughput.batch == 128)
    #expect(r.markdown.components(separatedBy: "\n").count == 2 + 6)
    #expect(r.json().contains("\"latency_model\""))
    #expect(throws: STPError.self) { try MethodBenchmark.latencyModel(o, checks: 0) }
}
