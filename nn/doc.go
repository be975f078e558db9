// Package nn holds the building blocks of Transformer models: Linear,
// Embedding, LayerNorm, RMSNorm, Dropout, MultiHeadAttention (self and cross
// attention, causal and padding masks, fused QKV projection), FeedForward
// (GELU, GELUTanh, ReLU, SiLU, SwiGLU), positional encodings (sinusoidal,
// learned, rotary), EncoderLayer and DecoderLayer (pre- or post-norm) and the
// TransformerEncoder / TransformerDecoder stacks of Vaswani et al. (2017).
//
// Modules are structs of *autograd.Var parameters with Forward methods over
// *autograd.Var, so a model built from them trains with autograd.Backward
// and the optimizers of package optim. Every module lists its parameters
// with dotted names (Params), in a fixed order; the names follow PyTorch's
// state_dict (self_attn.in_proj_weight, linear1.weight, norm1.bias, ...),
// so one safetensors file saves or restores a whole model (SaveParams,
// LoadParams).
//
// Initialisation follows PyTorch: nn.Linear's kaiming-uniform bound
// 1/√in, N(0, 1) embeddings, ones and zeros for norms; the Transformer
// stacks re-initialise their matrices with Xavier-uniform like
// torch.nn.Transformer. Randomness always comes from an explicit
// *tensor.RNG.
//
// Inference needs no graph: Freeze a module's parameters (or build with
// frozen ones) and the autograd ops record nothing.
package nn
