// Package gguf reads and writes GGUF files, the single-file model format of
// llama.cpp and ggml: metadata (hyperparameters, the tokenizer's vocabulary)
// and tensors, often quantized, laid out for memory mapping.
//
// # Format
//
// A GGUF file (versions 2 and 3 are read, 3 is written; little-endian) is
//
//	"GGUF" | uint32 version | uint64 tensor_count | uint64 kv_count
//	kv_count ×     string key | uint32 value type | value
//	tensor_count × string name | uint32 n_dims | uint64 ne[n_dims] | uint32 ggml type | uint64 offset
//	zero padding to general.alignment (default 32), then the data section
//
// where a string is a uint64 byte length and the bytes, a value one of
// thirteen types (integers of 8 to 64 bits, FLOAT32, FLOAT64, BOOL, STRING,
// and ARRAY: uint32 element type, uint64 count, elements; arrays may nest),
// and each tensor's offset is relative to the data section and a multiple of
// the alignment.
//
// Dimensions are listed innermost first: ne[0] is the row length, the
// dimension along which the quantized types group elements into blocks. This
// package exposes shapes the other way round, outermost first, like
// safetensors and PyTorch: a weight matrix stored as ne = [in, out] has
// Tensor.Shape (and checkpoint.TensorInfo.Shape) [out, in], and its data,
// row after row, is the row-major [out, in] matrix. Tensor.Dims gives the
// GGUF order.
//
// # Reading
//
// Open memory-maps a file (Parse takes bytes) and validates the whole header
// before returning: every count and length is checked against the real file
// size before anything is allocated for it, types and dimensions are checked
// (a known ggml type, at most four dimensions, no overflow, the row length a
// multiple of the block size), tensor names and metadata keys are unique, and
// every tensor's data is aligned and inside the file without overlapping
// another's. Hostile input yields an error matching checkpoint.ErrFormat, never
// a panic or an outsized allocation.
//
// *File implements checkpoint.Reader, so a loader reads GGUF tensors by name
// as it reads safetensors: Float32 converts F32, F16, BF16, F64 and
// dequantizes Q8_0, Q4_0, Q4_K and Q6_K the way ggml does; Bytes returns
// any tensor's raw bytes; Q8_0Blocks and Q4_0Blocks view quantized tensors as
// blocks in place, for arithmetic on the quantized values without a copy.
// Metadata is read by key with typed getters (String, Uint, Float, Strings,
// …) or as Values; Tokenizer and LlamaParams gather the tokenizer's
// vocabulary and a Llama-family model's hyperparameters.
//
// Tensors are stored as the converter wrote them, under llama.cpp's names
// (token_embd.weight, blk.N.attn_q.weight, …). For the "llama" architecture
// llama.cpp expects the query and key rows in Meta's layout, where rotary
// embeddings turn adjacent pairs of each head: llama2.c checkpoints are
// already in it and convert unchanged, while llama.cpp's Hugging Face
// converter undoes the permutation HF applies for its rotate-half RoPE.
//
// # Quantized types
//
// Q8_0 and Q4_0 group 32 consecutive elements of a row in a block with one
// half-precision scale d:
//
//	Q8_0 (34 bytes): d, 32 × int8 q            x[j] = q[j]·d
//	Q4_0 (18 bytes): d, 16 bytes of nibbles    x[j] = (lo(byte j) − 8)·d, x[j+16] = (hi(byte j) − 8)·d
//
// QuantizeQ8_0 and QuantizeQ4_0 (and Encode for Q6_K) reproduce llama.cpp's
// reference quantizers bit for bit (see their documentation for the exact rounding), so files
// written here match those llama.cpp's tools write from the same float32
// values.
//
// # Writing
//
// Writer collects metadata and tensors (float32 data converted to F32, F16,
// BF16, Q8_0, Q4_0 or Q6_K on the way out, or raw bytes of any type) and writes a
// version 3 file with WriteTo, or atomically with Save.
//
// Errors are *Error values naming the file and, where relevant, the tensor or
// metadata key:
//
//	gguf: model.gguf: tensor "blk.0.attn_q.weight": unknown tensor type 99
package gguf
