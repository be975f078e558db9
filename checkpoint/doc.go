// Package checkpoint reads and writes model weights in the formats Glossa
// meets in the wild: safetensors files (single or sharded Hugging Face
// folders), llama2.c .bin checkpoints, and the JSON configuration files that
// sit beside them.
//
// # Safetensors
//
// A safetensors file is
//
//	[8 bytes]  N, little-endian uint64: length of the header
//	[N bytes]  UTF-8 JSON object {"name": {"dtype", "shape", "data_offsets": [begin, end]},
//	           "__metadata__": {string: string}}
//	[rest]     the byte buffer; offsets are relative to its first byte, end exclusive
//
// Open memory-maps a file read-only (on Unix; elsewhere it reads the file) and
// validates the whole header before any tensor is touched: the header length
// is bounded and fits the file, the JSON is well formed with no duplicate
// names, every dtype is known, every shape's element count (overflow-checked)
// times the dtype size equals its byte span, and the spans tile the buffer
// exactly, without holes or overlaps, as the reference Rust reader requires.
// A lying header is therefore rejected before anything is allocated from it.
//
// Tensors are then read by name: Float32 copies and widens F16, BF16 (both
// exactly) and F64 (rounded) to float32, Float32Into fills a caller's slice,
// Float32View returns a zero-copy view of F32 data when alignment allows, and
// Bytes exposes the raw little-endian bytes of any dtype. Save writes F32 or
// BF16 tensors atomically, with the header padded to 8 bytes as Hugging Face
// does.
//
// OpenFolder presents a Hugging Face model folder — model.safetensors, or
// shards listed by model.safetensors.index.json — as one lookup. Both *File and
// *Folder implement Reader.
//
// ReadConfig reads a model folder's config.json into a model package's
// configuration struct (bounded, errors naming file, line and column) and
// returns its ConfigHeader, whose Check tells whether the model_type or
// architectures belong to the package reading it.
//
// # Errors
//
// Errors are *Error values naming the file and, where relevant, the tensor:
//
//	checkpoint: model.safetensors: tensor "h.0.attn.c_attn.weight": data_offsets [0,4096] past end of buffer (2048 bytes)
//
// Malformed input matches ErrFormat with errors.Is; a name the checkpoint
// lacks matches ErrMissingTensor; a tensor whose dtype cannot be converted as
// asked matches ErrDType.
package checkpoint
