// Package autograd is Glossa's reverse-mode automatic differentiation: a
// dynamic, PyTorch-style graph over tensor operations.
//
// A *Var holds a Value (*tensor.Tensor) and, after Backward, its Grad. Ops
// are package functions over *Var that mirror package tensor; each records a
// backward closure only when an input requires gradients, so running a model
// whose parameters do not require gradients builds no graph at all.
// Backward(loss) walks the graph in reverse topological order, accumulating
// d loss/d v into the Grad of every leaf that requires gradients; leaf
// gradients keep accumulating across calls (gradient accumulation) until
// ZeroGrad. A leaf's Grad buffer, once allocated (or created with
// EnsureGrad), is never replaced, so optimizers may hold its Data slice.
//
// API summary
//
//	Leaves      Param (requires grad), Const, NewVar; Var.{Value, Grad, RequiresGrad, SetRequiresGrad,
//	            EnsureGrad, ZeroGrad, Detach, Shape, IsLeaf}; ZeroGrad(vs...)
//	Run         Backward(loss), BackwardWith(out, grad)
//	Arena       Graph: NewGraph, Attach(params...), Var, Reset, Free, Alloc, SetGradEnabled (no-grad mode)
//	Element     Add Sub Mul Div (broadcasting), AddScalar MulScalar Neg Exp Log Sqrt Pow Tanh Sigmoid
//	            ReLU GELU GELUTanh SiLU MaskedFill Dropout
//	Reduce      Sum Mean Max (axis, keepdim), SumAll MeanAll
//	Matrix      MatMul (batched, broadcast), Linear (w [out,in]), LinearT (w [in,out], GPT-2 Conv1D)
//	Rows        Softmax LogSoftmax LayerNorm RMSNorm
//	Shape       Reshape Permute Transpose Slice Select Expand Unsqueeze Squeeze Contiguous Concat Split
//	Model       Embedding (ids → error), CrossEntropy (ignore index, label smoothing),
//	            ScaledDotProductAttention (fused; causal/padding/additive masks, GQA, dropout)
//	Checking    GradCheck: central finite differences in float64 against Backward
//
// Memory: ops under a Graph draw their outputs from its pool; intermediate
// gradients go back to the pool as soon as Backward has consumed them, and
// values on Graph.Reset. See Graph for the training-loop pattern.
package autograd
