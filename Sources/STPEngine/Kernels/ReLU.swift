// ReLU as a standalone kernel (the ResNets fuse it into batch normalisation; see BatchNorm.swift).
//
//   x, y, dy, dx  [count]
//   forward:  y = max(0, x)          backward: dx = dy * [y > 0]

public func reluForward(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count: Int) {
    parallelRows(count) { i0, i1 in
        for i in i0..<i1 { y[i] = max(0, x[i]) }
    }
}

public func reluBackward(y: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, count: Int) {
    parallelRows(count) { i0, i1 in
        for i in i0..<i1 { dx[i] = y[i] > 0 ? dy[i] : 0 }
    }
}
