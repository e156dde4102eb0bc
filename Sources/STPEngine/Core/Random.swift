// Seeded, serialisable random numbers. xoshiro256** (Blackman & Vigna): fast, good quality, and
// its whole state is four words, so a run record can store it and `--resume` continues the exact
// same stream.

public struct SeededRandom: RandomNumberGenerator, Sendable, Codable, Equatable {
    public var state: [UInt64]

    public init(seed: UInt64) {
        var s = seed
        var words = [UInt64]()
        for _ in 0..<4 { words.append(SeededRandom.splitMix(&s)) }
        state = words
    }

    public init(state: [UInt64]) {
        precondition(state.count == 4, "xoshiro256** needs four state words")
        self.state = state
    }

    private static func splitMix(_ x: inout UInt64) -> UInt64 {
        x &+= 0x9E37_79B9_7F4A_7C15
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always)
    private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    public mutating func next() -> UInt64 {
        let result = SeededRandom.rotl(state[1] &* 5, 7) &* 9
        let t = state[1] << 17
        state[2] ^= state[0]
        state[3] ^= state[1]
        state[1] ^= state[2]
        state[0] ^= state[3]
        state[2] ^= t
        state[3] = SeededRandom.rotl(state[3], 45)
        return result
    }

    /// Uniform in [0, 1).
    public mutating func nextFloat() -> Float { Float(next() >> 40) * (1.0 / Float(1 << 24)) }

    /// Standard normal (Box-Muller).
    public mutating func nextGaussian() -> Float {
        var u1 = nextFloat()
        if u1 < 1e-7 { u1 = 1e-7 }
        let u2 = nextFloat()
        return (-2 * logf(u1)).squareRoot() * cosf(2 * Float.pi * u2)
    }

    /// A generator derived from this one's seed stream, for independent sub-streams.
    public mutating func fork() -> SeededRandom { SeededRandom(seed: next()) }
}

#if canImport(Glibc)
import Glibc
#endif
