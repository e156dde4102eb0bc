import Testing
@testable import STPEngine

private let sampleCPUInfo = """
processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 143
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu sse sse2 avx fma avx2 avx512f avx512dq avx512bw avx512vl avx512_bf16 amx_bf16 amx_tile amx_int8
bogomips\t: 4000.00

processor\t: 1
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu sse sse2 avx fma avx2 avx512f avx512dq avx512bw avx512vl avx512_bf16 amx_bf16 amx_tile amx_int8

"""

@Test func runtimeCPUInfoParsesModelFlagsAndCores() {
    let cpu = CPUFeatures.parse(cpuinfo: sampleCPUInfo)
    #expect(cpu.modelName == "Intel(R) Xeon(R) Platinum 8480+")
    #expect(cpu.vendor == "GenuineIntel")
    #expect(cpu.logicalCores == 2)
    #expect(cpu.flags.count == 14)
    #expect(cpu.hasAVX2 && cpu.hasFMA && cpu.hasAVX512F && cpu.hasAVX512BW && cpu.hasAVX512VL)
    #expect(cpu.hasAVX512BF16 && cpu.hasAMX)
    #expect(cpu.bestSIMD == "AVX-512F")
    #expect(cpu.simdSummary == "AVX2 FMA AVX-512F AVX-512BW AVX-512VL AVX-512-BF16 AMX")
}

@Test func runtimeCPUInfoOlderAndEmpty() {
    let old = CPUFeatures.parse(cpuinfo: "processor : 0\nmodel name : Core 2\nflags : fpu sse sse2 ssse3\n")
    #expect(old.modelName == "Core 2")
    #expect(old.flags == ["fpu", "sse", "sse2", "ssse3"])
    #expect(!old.hasAVX2 && !old.hasAVX512F && !old.hasAMX)
    #expect(old.bestSIMD == "no AVX2")
    #expect(old.simdSummary == "SSE only")

    let haswell = CPUFeatures.parse(cpuinfo: "processor : 0\nflags : avx avx2 fma\nprocessor : 1\nprocessor : 2\n")
    #expect(haswell.logicalCores == 3)
    #expect(haswell.bestSIMD == "AVX2+FMA")
    #expect(haswell.modelName == "unknown")

    let empty = CPUFeatures.parse(cpuinfo: "")
    #expect(empty.flags.isEmpty && empty.logicalCores == 1 && empty.modelName == "unknown")
}

@Test func runtimeCPUListCounting() {
    #expect(CPUFeatures.countCPUList("0-1") == 2)
    #expect(CPUFeatures.countCPUList("0-3,8,10-11") == 7)
    #expect(CPUFeatures.countCPUList("5") == 1)
    #expect(CPUFeatures.countCPUList("") == nil)
    #expect(CPUFeatures.countCPUList("3-1") == nil)
    #expect(CPUFeatures.countCPUList("x") == nil)
}

@Test func runtimeCPUInfoRealFile() {
    let cpu = CPUFeatures.current()
    #if os(Linux)
    #expect(!cpu.flags.isEmpty)
    #expect(cpu.modelName != "unknown")
    #endif
    #expect(cpu.logicalCores >= 1)
}
