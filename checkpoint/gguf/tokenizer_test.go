package gguf

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/checkpoint"
)

// parseMeta writes the given metadata (key, value pairs) and parses it.
func parseMeta(t *testing.T, kvs ...any) *File {
	t.Helper()
	var w Writer
	for i := 0; i < len(kvs); i += 2 {
		if err := w.Set(kvs[i].(string), kvs[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestTokenizerGPT2(t *testing.T) {
	f := parseMeta(t,
		KeyTokenizerModel, "gpt2", KeyTokenizerPre, "llama-bpe",
		KeyTokens, []string{"a", "b", "ab", "<|end|>"},
		KeyTokenTypes, []int32{1, 1, 1, 3},
		KeyMerges, []string{"a b"},
		KeyBOSID, uint32(3), KeyEOSID, uint32(3), KeyPADID, uint32(99), // out of range: ignored
		KeyEOTID, int32(3),
		KeyAddBOS, false, KeyAddSpacePrefix, false,
		KeyChatTemplate, "{{ messages }}",
	)
	tk, err := f.Tokenizer()
	if err != nil {
		t.Fatal(err)
	}
	if tk.Model != "gpt2" || tk.Pre != "llama-bpe" || len(tk.Tokens) != 4 || tk.Scores != nil ||
		tk.Types[3] != TokenControl || len(tk.Merges) != 1 || tk.Merges[0] != "a b" ||
		tk.BOS != 3 || tk.EOS != 3 || tk.PAD != -1 || tk.UNK != -1 || tk.EOT != 3 ||
		tk.AddBOS == nil || *tk.AddBOS || tk.AddEOS != nil || tk.AddSpacePrefix == nil || *tk.AddSpacePrefix ||
		tk.ChatTemplate != "{{ messages }}" {
		t.Errorf("tokenizer %+v", tk)
	}
	if tk.String() != "gpt2 tokenizer, 4 tokens" {
		t.Errorf("String() = %q", tk.String())
	}
}

func TestTokenizerErrors(t *testing.T) {
	tokens := []string{"a", "b"}
	for _, tc := range []struct {
		name    string
		kvs     []any
		key     string
		missing bool
		want    string
	}{
		{"no model", []any{KeyTokens, tokens}, KeyTokenizerModel, true, "missing metadata key"},
		{"no tokens", []any{KeyTokenizerModel, "llama"}, KeyTokens, true, "missing"},
		{"model type", []any{KeyTokenizerModel, uint32(1), KeyTokens, tokens}, KeyTokenizerModel, false, "type UINT32, want a STRING"},
		{"tokens type", []any{KeyTokenizerModel, "llama", KeyTokens, []int32{1}}, KeyTokens, false, "array of INT32, want an array of strings"},
		{"scores count", []any{KeyTokenizerModel, "llama", KeyTokens, tokens, KeyScores, []float32{1}}, KeyScores, false, "1 scores for 2 tokens"},
		{"scores type", []any{KeyTokenizerModel, "llama", KeyTokens, tokens, KeyScores, []float64{1, 2}}, KeyScores, false, "want an array of FLOAT32"},
		{"types count", []any{KeyTokenizerModel, "llama", KeyTokens, tokens, KeyTokenTypes, []int32{1, 1, 1}}, KeyTokenTypes, false, "3 token types for 2 tokens"},
		{"types type", []any{KeyTokenizerModel, "llama", KeyTokens, tokens, KeyTokenTypes, []string{"x", "y"}}, KeyTokenTypes, false, "want an array of INT32"},
		{"merges type", []any{KeyTokenizerModel, "gpt2", KeyTokens, tokens, KeyMerges, []int32{1}}, KeyMerges, false, "want an array of strings"},
		{"id type", []any{KeyTokenizerModel, "llama", KeyTokens, tokens, KeyBOSID, "1"}, KeyBOSID, false, "type STRING, want an integer"},
		{"bool type", []any{KeyTokenizerModel, "llama", KeyTokens, tokens, KeyAddBOS, uint8(1)}, KeyAddBOS, false, "want a BOOL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseMeta(t, tc.kvs...).Tokenizer()
			var ge *Error
			if err == nil || !errors.As(err, &ge) || ge.Key != tc.key || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want key %s and %q", err, tc.key, tc.want)
			}
			if errors.Is(err, ErrMissingKey) != tc.missing || errors.Is(err, checkpoint.ErrFormat) == tc.missing {
				t.Errorf("error %v: ErrMissingKey %v, want %v", err, errors.Is(err, ErrMissingKey), tc.missing)
			}
		})
	}
}

func TestLlamaParams(t *testing.T) {
	base := []any{KeyArchitecture, "qwen2",
		"qwen2.context_length", uint32(32768), "qwen2.embedding_length", uint32(896), "qwen2.block_count", uint32(24),
		"qwen2.feed_forward_length", uint32(4864), "qwen2.attention.head_count", uint32(14),
		"qwen2.attention.layer_norm_rms_epsilon", float32(1e-6)}
	p, err := parseMeta(t, append(base, KeyTokens, []string{"a", "b", "c"})...).LlamaParams()
	if err != nil {
		t.Fatal(err)
	}
	want := LlamaParams{Architecture: "qwen2", ContextLength: 32768, EmbeddingLength: 896, BlockCount: 24,
		FeedForwardLength: 4864, HeadCount: 14, HeadCountKV: 14, RMSNormEpsilon: 1e-6, RopeFreqBase: 10000,
		RopeDimensionCount: 64, VocabSize: 3}
	if p != want {
		t.Errorf("defaults:\n got %+v\nwant %+v", p, want)
	}
	p, err = parseMeta(t, append(base, "qwen2.attention.head_count_kv", uint32(2), "qwen2.rope.freq_base", float32(1e6),
		"qwen2.rope.dimension_count", uint32(32), "qwen2.vocab_size", uint32(151936))...).LlamaParams()
	if err != nil {
		t.Fatal(err)
	}
	if p.HeadCountKV != 2 || p.RopeFreqBase != 1e6 || p.RopeDimensionCount != 32 || p.VocabSize != 151936 {
		t.Errorf("explicit: %+v", p)
	}
	for _, tc := range []struct {
		name    string
		kvs     []any
		key     string
		missing bool
	}{
		{"no arch", nil, KeyArchitecture, true},
		{"arch type", []any{KeyArchitecture, uint32(1)}, KeyArchitecture, false},
		{"no block count", []any{KeyArchitecture, "llama", "llama.context_length", uint32(1), "llama.embedding_length", uint32(8)}, "llama.block_count", true},
		{"count type", append(base[:len(base):len(base)], "qwen2.attention.head_count_kv", "2"), "qwen2.attention.head_count_kv", false},
		{"count range", append(base[:len(base):len(base)], "qwen2.vocab_size", int64(-1)), "qwen2.vocab_size", false},
		{"float type", append(base[:len(base):len(base)], "qwen2.rope.freq_base", uint32(10000)), "qwen2.rope.freq_base", false},
	} {
		_, err := parseMeta(t, tc.kvs...).LlamaParams()
		var ge *Error
		if err == nil || !errors.As(err, &ge) || ge.Key != tc.key || errors.Is(err, ErrMissingKey) != tc.missing {
			t.Errorf("%s: error %v, want key %s (missing %v)", tc.name, err, tc.key, tc.missing)
		}
	}
}
