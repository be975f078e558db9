package auto

import (
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/checkpoint/gguf"
)

// FuzzFromGGUF builds tokenizers from arbitrary GGUF vocabularies (tokens,
// types, ids, merges, as a hostile file could hold them): FromGGUF fails
// or returns a tokenizer that encodes and decodes without panicking.
func FuzzFromGGUF(f *testing.F) {
	f.Add("llama", "<unk>\x00<s>\x00</s>\x00<0x41>\x00\u2581a\x00b", []byte{2, 3, 3, 6, 1, 1}, 0, 1, 2, "", "ab a")
	f.Add("llama", "<unk>\x00a", []byte{4, 4}, 0, -1, 7, "", "aaa")
	f.Add("gpt2", "a\x00b\x00ab\x00<|endoftext|>", []byte{1, 1, 1, 3}, -1, 3, 3, "a b", "abab")
	f.Add("gpt2", "a\x00b", []byte{9, 0}, 5, 0, 0, "a\x00b c", "ba")
	f.Fuzz(func(t *testing.T, model, tokens string, types []byte, unk, bos, eos int, merges, text string) {
		tk := &gguf.Tokenizer{Model: model, Tokens: strings.Split(tokens, "\x00"), UNK: unk, BOS: bos, EOS: eos,
			PAD: -1, SEP: -1, CLS: -1, Mask: -1, EOT: -1}
		if len(types) >= len(tk.Tokens) {
			tk.Types = make([]gguf.TokenType, len(tk.Tokens))
			for i := range tk.Types {
				tk.Types[i] = gguf.TokenType(types[i])
			}
		}
		if merges != "" {
			tk.Merges = strings.Split(merges, "\x00")
		}
		tok, err := FromGGUF(tk)
		if err != nil {
			return
		}
		enc, err := tok.Encode(text)
		if err != nil {
			return
		}
		if _, err := tok.Decode(enc.IDs, false); err != nil {
			t.Fatalf("decode of its own ids %v: %v", enc.IDs, err)
		}
	})
}
