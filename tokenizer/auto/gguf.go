package auto

import (
	"fmt"
	"strings"

	"github.com/glossa-ai/glossa/checkpoint/gguf"
	"github.com/glossa-ai/glossa/tokenizer"
	"github.com/glossa-ai/glossa/tokenizer/bpe"
	"github.com/glossa-ai/glossa/tokenizer/sentencepiece"
)

// loadGGUF builds the tokenizer a llama.cpp .gguf file carries in its
// tokenizer.ggml.* metadata.
func loadGGUF(path string) (*tokenizer.Tokenizer, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("auto: %w", err)
	}
	defer f.Close()
	tk, err := f.Tokenizer()
	if err != nil {
		return nil, fmt.Errorf("auto: %s has no usable tokenizer: %w", path, err)
	}
	t, err := FromGGUF(tk)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return t, nil
}

// FromGGUF builds a tokenizer from the vocabulary a GGUF file stores:
//
//   - model "llama": SentencePiece BPE (sentencepiece.New) with the file's
//     scores and token types, the dummy-prefix space unless
//     add_space_prefix is false, and BOS before each sequence unless
//     add_bos_token is false — what llama.cpp's SPM tokenizer does;
//   - model "gpt2": byte-level BPE (bpe.New) with the file's merges; the
//     control tokens are special added tokens, and BOS is added only when
//     add_bos_token is true.
//
// Other models ("bert", "t5", …) fail with an error naming them.
func FromGGUF(tk *gguf.Tokenizer) (*tokenizer.Tokenizer, error) {
	switch tk.Model {
	case "llama":
		types := make([]int32, len(tk.Types))
		for i, t := range tk.Types {
			types[i] = int32(t)
		}
		if tk.Types == nil {
			types = nil
		}
		m, err := sentencepiece.New(sentencepiece.Vocabulary{Pieces: tk.Tokens, Scores: tk.Scores, Types: types,
			UNK: tk.UNK, BOS: tk.BOS, EOS: tk.EOS, NoDummyPrefix: tk.AddSpacePrefix != nil && !*tk.AddSpacePrefix})
		if err != nil {
			return nil, fmt.Errorf("auto: gguf tokenizer: %w", err)
		}
		t, err := llamaTokenizer(m, tk.AddBOS == nil || *tk.AddBOS)
		if err != nil {
			return nil, fmt.Errorf("auto: gguf tokenizer: %w", err)
		}
		return t, nil
	case "gpt2":
		return gpt2FromGGUF(tk)
	}
	return nil, fmt.Errorf("auto: gguf tokenizer model %q is not supported (want llama or gpt2)", tk.Model)
}

// gpt2FromGGUF builds a byte-level BPE tokenizer from tokens and merges.
func gpt2FromGGUF(tk *gguf.Tokenizer) (*tokenizer.Tokenizer, error) {
	if tk.Merges == nil {
		return nil, fmt.Errorf("auto: gguf tokenizer: model gpt2 without %s", gguf.KeyMerges)
	}
	vocab := make(map[string]int, len(tk.Tokens))
	for id, s := range tk.Tokens {
		if _, dup := vocab[s]; !dup {
			vocab[s] = id
		}
	}
	merges := make([][2]string, len(tk.Merges))
	for i, mg := range tk.Merges {
		l, r, ok := strings.Cut(mg, " ")
		if !ok {
			return nil, fmt.Errorf("auto: gguf tokenizer: merge %d %q is not two tokens", i, mg)
		}
		merges[i] = [2]string{l, r}
	}
	var special []string
	var added []tokenizer.AddedToken
	for id, t := range tk.Types {
		if t == gguf.TokenControl || t == gguf.TokenUserDefined {
			added = append(added, tokenizer.AddedToken{Content: tk.Tokens[id], ID: id, Special: t == gguf.TokenControl})
			if t == gguf.TokenControl {
				special = append(special, tk.Tokens[id])
			}
		}
	}
	m, err := bpe.New(vocab, merges, bpe.Options{SpecialTokens: special})
	if err != nil {
		return nil, fmt.Errorf("auto: gguf tokenizer: %w", err)
	}
	cfg := tokenizer.Config{AddedTokens: added}
	if tk.AddBOS != nil && *tk.AddBOS && tk.BOS >= 0 {
		cfg.Template = tokenizer.BOSTemplate(tk.Tokens[tk.BOS], tk.BOS)
	}
	return tokenizer.New(m, cfg)
}
