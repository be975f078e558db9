// Package infer is the inference layer every model in Glossa is built on:
// the pieces of a Transformer forward pass written once, over flat row-major
// float32 buffers and the SIMD kernels of package kernels, with no autograd
// graph.
//
//   - Linear: y = x·Wᵀ + b with a pluggable weight format (packed float32,
//     bfloat16, llama.cpp's Q8_0 and Q4_0 blocks with int8 products on
//     quantized activations, or each matrix as its checkpoint stores it),
//     fused bias, activation and residual epilogues, and a matrix-vector
//     path that streams each weight from memory once per decoding step.
//   - LayerNorm and RMSNorm (RMSNorm is also T5's "layer norm": no mean, no
//     bias), Embedding (and the output head tied to it), one Activation
//     dispatch and the gated act(gate)·up of SwiGLU and gated GELU.
//   - Rotary position embeddings in both layouts (Llama's rotate-half and
//     GPT-J's interleaved pairs).
//   - KVCache: keys and values of every layer for rows (slots) that each have
//     their own length, so a server can add, retire, truncate and reorder rows
//     between steps without copying the others.
//   - Attention over a KVCache for a ragged batch of segments (prefill and
//     decode rows mixed in one pass): causal or bidirectional, grouped-query
//     heads, key padding masks, an additive position-bias hook (T5's relative
//     buckets, ALiBi) and a probability hook for inspection.
//   - State: one decoding session of a Decoder (a model's shape and forward
//     pass) — left padding removed, long prompts chunked, beams reordered,
//     rows joining and leaving independently — and Run, one pass recording
//     every position's logits, hidden states and attention probabilities.
//   - Builder: a prefix-scoped view of a checkpoint (candle's VarBuilder):
//     Sub("h", 3).Linear("attn.c_attn", …) checks names and shapes, applies
//     a model's aliases, widens f16/bf16 or keeps bf16, keeps a GGUF file's
//     Q8_0/Q4_0 blocks where they are mapped, and reports the first
//     missing or mis-shaped tensor with the file it was looked up in. The same
//     calls initialise fresh random weights when the Builder has no source.
//
// The letters used in shape comments:
//
//	N  rows of a pass (tokens of every segment together)
//	C  model width        H  query heads     Hkv key/value heads   D head dim
//	T  new positions of a segment            S  positions it attends to
//
// Every type here is immutable after construction and safe for concurrent
// use except the per-session ones (KVCache, Scratch), which one goroutine
// uses at a time.
package infer
