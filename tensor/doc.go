// Package tensor provides Glossa's n-dimensional float32 arrays and every
// forward operation on them.
//
// A *Tensor is a strided view (storage, shape, strides, offset) in row-major
// order. Views share storage and never copy: Reshape (of contiguous data),
// Permute, Transpose/T, Slice, Select, Expand, Unsqueeze, Squeeze, Split,
// Chunk. Contiguous copies only when the view is not already dense.
//
// API summary
//
//	Construct   New/Zeros, Ones, Full, Scalar, ZerosLike, FromData (shares data), MustFromData, Arange
//	Inspect     Shape, Strides, NDim, Dim, Numel, IsContiguous, Data (dense view), Values (copy), At, Set, Item,
//	            Storage (raw slice + offset, for kernels over strided views)
//	Mutate      Fill, Zero, CopyFrom (broadcasting), Clone, Contiguous
//	Random      RNG (PCG, seeded): Normal, Uniform, TruncNormal, Bernoulli, DropoutMask, Perm, Randn
//	Element     Add Sub Mul Div Maximum Minimum (NumPy broadcasting), AddScalar MulScalar, Neg Exp Log Sqrt
//	            Pow Abs Tanh Sigmoid ReLU GELU GELUTanh SiLU, MaskedFill, AccumulateInto (broadcast adjoint)
//	Reduce      Sum Mean Max (axis, keepdim), SumInto MeanInto, ArgMax, SumAll MeanAll MaxAll
//	MatMul      MatMul (batched, broadcast, transposed views map to Sgemm flags), Gemm (α·a@b + β·dst),
//	            Linear (w [out,in]), LinearT (w [in,out], GPT-2 Conv1D)
//	Rows        Softmax, LogSoftmax, LayerNorm, RMSNorm (last axis), SoftmaxRow, LayerNormStatsInto and
//	            RMSNormStatsInto (also save per-row statistics for a backward pass)
//	Other       Embedding (ids checked → error), CheckIDs, Dropout, Concat, Split, Chunk,
//	            CrossEntropy, CrossEntropyWithGrad
//	Errors      *ShapeError{Op, Shapes, Msg}; Try converts a ShapeError panic to an error;
//	            MatMulShape, LinearShape, ConcatShape, BroadcastShapes validate without panicking
//
// Functions return new contiguous tensors. For the allocation-free inference
// path most have an …Into(dst, …) variant writing into a preallocated
// contiguous dst of the result's shape (AddInto, MatMulInto, LinearInto,
// SoftmaxInto, LayerNormInto, RMSNormInto, GELUInto, EmbeddingInto, …);
// below the parallel threshold these allocate nothing.
//
// Errors: operations panic with a *ShapeError on shapes that callers were
// supposed to have checked (internal misuse); functions that take user input
// directly (FromData, Embedding's ids, CrossEntropy's targets) return errors.
//
// Hot loops run in package kernels: dense runs of element-wise operations use
// the SIMD vector kernels, matrix products use kernels.Sgemm, and row-wise
// operations split rows across runtime.GOMAXPROCS(0) workers.
package tensor
