// Package quantize writes a Llama model as a self-contained llama.cpp GGUF
// file of one weight type — what llama.cpp's convert scripts and
// llama-quantize do together, in one step and in Go:
//
//	res, err := quantize.File(ctx, "stories260K.bin", "stories260K-q8_0.gguf",
//		quantize.Options{Type: gguf.Q8_0, Tokenizer: "tok512.bin"})
//
// The input is a Hugging Face LlamaForCausalLM folder (config.json, the
// safetensors weights, tokenizer.model and tokenizer_config.json's chat
// template), a llama2.c checkpoint (.bin, with its tokenizer.bin given as
// Options.Tokenizer), or a GGUF file, which is requantized: its metadata is
// copied and the tensors whose type changes are decoded and encoded again.
//
// # Type choices
//
// TypeFor picks each tensor's type as llama-quantize (llama.cpp
// src/llama-quant.cpp) does for a file type of F32, F16, BF16, Q8_0 or
// Q4_0 without an importance matrix:
//
//   - only 2-D tensors whose name ends in "weight" are converted; norms
//     ("_norm.weight") and 1-D tensors stay F32 (a GGUF input keeps their
//     stored type);
//   - for Q4_0 the output matrix — output.weight, or token_embd.weight when
//     the embeddings are tied — is Q6_K (ggml's reference quantizer, bit for
//     bit) if its rows are a multiple of 256, else Q8_0;
//   - a tensor whose rows are not a multiple of the 32-element block falls
//     back to F16. (llama-quantize applies that fallback to its K-quants and
//     stops with "Unsupported tensor size encountered" for Q8_0 and Q4_0;
//     falling back keeps such models convertible, and ../shared's stories260K
//     files, whose 172-wide ffn_down is F16, were made the same way.)
//
// With Options.Pure every converted tensor gets the one type (llama-quantize
// --pure), and a tensor the type cannot hold is an error naming it.
//
// # Metadata
//
// The file carries llama.cpp's llama.* hyperparameters, general.name,
// general.file_type and general.quantization_version, and the tokenizer as
// tokenizer.ggml.* (model "llama": tokens with U+2581 for spaces, scores,
// token types, unknown/BOS/EOS ids, add_bos_token) plus
// tokenizer.chat_template when the input has one, so that llama.cpp and
// Glossa run it with nothing beside it.
//
// Query and key rows: llama2.c and GGUF are in Meta's interleaved-RoPE layout
// and are copied as they are; Hugging Face rows are permuted back to it, as
// llama.cpp's convert_hf_to_gguf.py does.
//
// The output is written atomically (checkpoint/gguf.Writer.Save).
package quantize
