// Eight-float vector loads and stores for the channel loops of the memory-bound kernels. Written
// out explicitly because the compiler cannot prove that the kernels' pointers do not alias and
// would otherwise leave the short channel loops (16 to 64 channels) scalar.

typealias Float8 = SIMD8<Float>

@inline(__always) func load8(_ p: UnsafePointer<Float>) -> Float8 {
    UnsafeRawPointer(p).loadUnaligned(as: Float8.self)
}

@inline(__always) func load8(_ p: UnsafeMutablePointer<Float>) -> Float8 {
    UnsafeRawPointer(p).loadUnaligned(as: Float8.self)
}

@inline(__always) func store8(_ v: Float8, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: Float8.self)
}

/// `count` rounded down to a multiple of 8: the vectorised part of a channel loop.
@inline(__always) func vectorPart(_ count: Int) -> Int { count & ~7 }
