import Testing
@testable import STPEngine
#if canImport(Glibc)
import Glibc
#endif

@Test func runtimeStatusFieldParsing() {
    let text = "Name:\tstp\nVmPeak:\t  300000 kB\nVmHWM:\t   123456 kB\nVmRSS:\t    65432 kB\n"
    #expect(ProcessMemory.statusField("VmHWM", in: text) == 123456)
    #expect(ProcessMemory.statusField("VmRSS", in: text) == 65432)
    #expect(ProcessMemory.statusField("VmSwap", in: text) == nil)
    #expect(ProcessMemory.statusField("Name", in: text) == nil)
}

@Test func runtimePeakRSSGrowsWhenTouching64MiB() {
    // The counters are the whole process's, and the other tests run concurrently, allocating and
    // freeing: one of them freeing 100 MB while this block is touched hides the growth (seen on a
    // loaded machine). So the growth must show in one of a few attempts, each on a fresh block.
    var grew = false
    for _ in 0..<5 where !grew {
        let peakBefore = ProcessMemory.peakResidentBytes()
        let currentBefore = ProcessMemory.currentResidentBytes() ?? 0
        #expect(peakBefore > 0)
        #expect(currentBefore > 0)
        let size = 64 << 20
        let block = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 4096)
        defer { block.deallocate() }
        memset(block, 0x5A, size)   // touch every page
        let currentAfter = ProcessMemory.currentResidentBytes() ?? 0
        let peakAfter = ProcessMemory.peakResidentBytes()
        #expect(peakAfter >= currentAfter, "the peak is never below the current size")
        #expect(block.load(fromByteOffset: size - 1, as: UInt8.self) == 0x5A)
        // Some slack below the full 64 MiB for what the other tests free meanwhile.
        grew = currentAfter - currentBefore > 48 << 20
            && (peakAfter >= peakBefore + (48 << 20) || peakAfter >= currentBefore + (48 << 20))
    }
    #expect(grew, "touching 64 MiB never showed in the resident size in 5 attempts")
}

@Test func runtimeInterruptPolicy() {
    #expect(Interrupts.response(toSignal: SIGINT, alreadyRequested: false) == .requestStop)
    #expect(Interrupts.response(toSignal: SIGTERM, alreadyRequested: false) == .requestStop)
    #expect(Interrupts.response(toSignal: SIGINT, alreadyRequested: true) == .exitNow(130))
    #expect(Interrupts.response(toSignal: SIGTERM, alreadyRequested: true) == .exitNow(143))
}

@Test func runtimeInterruptFlagSetByRaisedSIGINT() {
    func currentHandler(_ sig: Int32) -> sigaction {
        var old = sigaction()
        sigaction(sig, nil, &old)
        return old
    }
    func sameDisposition(_ a: sigaction, _ b: sigaction) -> Bool {
        unsafeBitCast(a.__sigaction_handler.sa_handler, to: Int.self)
            == unsafeBitCast(b.__sigaction_handler.sa_handler, to: Int.self)
    }
    let originalINT = currentHandler(SIGINT), originalTERM = currentHandler(SIGTERM)

    Interrupts.install(announce: false)
    #expect(Interrupts.isInstalled)
    #expect(!Interrupts.stopRequested)
    #expect(!sameDisposition(currentHandler(SIGINT), originalINT))

    // Test runner worker threads (Dispatch) block SIGINT and SIGTERM, which would leave the raised
    // signal pending on this thread; unblock them here for the duration of the test. (In stp the
    // main thread does not block them, and the kernel delivers a process signal to such a thread.)
    var unblock = sigset_t(), savedMask = sigset_t()
    sigemptyset(&unblock)
    sigaddset(&unblock, SIGINT)
    sigaddset(&unblock, SIGTERM)
    pthread_sigmask(SIG_UNBLOCK, &unblock, &savedMask)
    defer { pthread_sigmask(SIG_SETMASK, &savedMask, nil) }

    raise(SIGINT)   // delivered to this thread before raise returns
    #expect(Interrupts.stopRequested)
    #expect(Interrupts.requestingSignal == SIGINT)
    #expect(Interrupts.receivedCount == 1)

    Interrupts.reset()
    #expect(!Interrupts.stopRequested)
    #expect(Interrupts.requestingSignal == nil)

    raise(SIGTERM)
    #expect(Interrupts.stopRequested)
    #expect(Interrupts.requestingSignal == SIGTERM)
    Interrupts.reset()

    Interrupts.requestStop()
    #expect(Interrupts.stopRequested)
    Interrupts.reset()

    Interrupts.uninstall()
    #expect(!Interrupts.isInstalled)
    #expect(sameDisposition(currentHandler(SIGINT), originalINT))
    #expect(sameDisposition(currentHandler(SIGTERM), originalTERM))
}
