// Fully connected layer, PyTorch layout.
//
//   x [N, In]   w [Out, InFull] (the first In columns are used)   b [Out]   y [N, Out]
//   forward:   y = x * w^T + b
//   backward:  dw[:, :In] += dy^T * x;  db += sum_n dy;  dx = dy * w[:, :In]

public func linearForward(x: UnsafePointer<Float>, batch: Int, inFeatures: Int, w: UnsafePointer<Float>, wStride: Int,
                          b: UnsafePointer<Float>?, outFeatures: Int, y: UnsafeMutablePointer<Float>) {
    if let b {
        for n in 0..<batch { (y + n * outFeatures).update(from: b, count: outFeatures) }
    }
    sgemm(transA: false, transB: true, m: batch, n: outFeatures, k: inFeatures,
          a: x, lda: inFeatures, b: w, ldb: wStride, beta: b == nil ? 0 : 1, c: y, ldc: outFeatures)
}

public func linearBackward(x: UnsafePointer<Float>, batch: Int, inFeatures: Int, w: UnsafePointer<Float>, wStride: Int,
                           outFeatures: Int, dy: UnsafePointer<Float>,
                           dw: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>?,
                           dx: UnsafeMutablePointer<Float>?) {
    sgemm(transA: true, transB: false, m: outFeatures, n: inFeatures, k: batch,
          a: dy, lda: outFeatures, b: x, ldb: inFeatures, beta: 1, c: dw, ldc: wStride)
    if let db {
        for n in 0..<batch {
            let row = dy + n * outFeatures
            for o in 0..<outFeatures { db[o] += row[o] }
        }
    }
    if let dx {
        sgemm(transA: false, transB: false, m: batch, n: inFeatures, k: outFeatures,
              a: dy, lda: outFeatures, b: w, ldb: wStride, beta: 0, c: dx, ldc: inFeatures)
    }
}
