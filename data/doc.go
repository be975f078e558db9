// Package data turns raw text and labelled files into the token streams and
// examples that Glossa's trainers consume, without a model in sight.
//
// The pieces, in the order a pretraining run uses them:
//
//   - Corpus streams plain-text files (single files, folders, glob patterns,
//     gzip) line by line with a bounded line length, and groups lines into
//     documents (DocBlankLine: blank lines separate documents; DocFile: one
//     file is one document; DocLine: every line is one).
//   - SplitSentences cuts a paragraph into sentences with simple, documented
//     rules (Latin and CJK terminal punctuation).
//   - BuildTokenFile tokenises a corpus in parallel with any Encoder and
//     writes a packed token file (see "Packed token files" below), cached by
//     a key over the corpus file sizes and modification times and the
//     tokenizer bytes, so the second run opens the cache at once.
//   - BlockSampler cuts a token stream into contiguous blocks of
//     BlockSize+1 tokens for causal language modelling (GPT).
//   - CreateNSPInstances and Masker build BERT's pretraining examples: next
//     sentence pairs and masked-language-model targets, as in Google's
//     create_pretraining_data.py; PackSentences packs text into full
//     sequences for MLM without NSP.
//   - ReadLabeled reads TSV, CSV and JSONL classification data with column
//     selection by name or index; LabelMap maps label strings to ids;
//     EncodeClassification and CollateClassification turn them into padded
//     batches of ids for sequence classification.
//   - Shuffle, Permutation and SplitTrainVal give deterministic (seeded)
//     order and train/validation splits; IndexSampler yields resumable,
//     per-epoch shuffled example indices for batching.
//
// # Packed token files
//
// A packed token file (extension .tok) is little-endian:
//
//	offset size  field
//	0      8     magic "GLTOKENS"
//	8      4     format version (1)
//	12     4     dtype: 2 = uint16 tokens, 4 = uint32 tokens
//	16     4     vocabulary size
//	20     4     reserved (0)
//	24     8     number of tokens N
//	32     8     number of segments S (sentences or lines)
//	40     8     number of documents D
//	48     32    cache key (SHA-256, zero when not cached)
//	80     N·w   tokens (w = dtype bytes), padded to a multiple of 8
//	…      8·(S+1) segment start offsets in tokens (last = N)
//	…      8·(D+1) document start offsets in segments (last = S)
//
// Readers check every count against the file size before trusting it, and
// that offsets are non-decreasing and in range, so a truncated or corrupted
// file is an error, never a panic or a huge allocation.
//
// Nothing in this package prints; long operations take a context.Context and
// randomness always comes from an explicit seed.
package data
