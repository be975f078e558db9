package auto

import (
	"fmt"

	"github.com/glossa-ai/glossa/tokenizer"
	"github.com/glossa-ai/glossa/tokenizer/sentencepiece"
)

func sentencePieceFromJSON(data []byte) (tokenizer.Model, error) {
	return sentencepiece.FromTokenizerJSON(data)
}

// sentencePieceBPE wraps a parsed SentencePiece BPE model file (Llama's
// tokenizer.model) read from path.
func sentencePieceBPE(data []byte, path string) (*tokenizer.Tokenizer, error) {
	m, err := sentencepiece.ParseModel(data)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return llamaTokenizer(m, true)
}

// loadLlama2C loads llama2.c's tokenizer.bin.
func loadLlama2C(path string) (*tokenizer.Tokenizer, error) {
	m, err := sentencepiece.LoadLlama2C(path)
	if err != nil {
		return nil, err
	}
	return llamaTokenizer(m, true)
}

// llamaTokenizer wraps a Llama vocabulary: BOS before each sequence (with
// addBOS), and its control tokens (<s>, </s>) as special added tokens.
func llamaTokenizer(m *sentencepiece.Model, addBOS bool) (*tokenizer.Tokenizer, error) {
	var cfg tokenizer.Config
	for _, id := range []int{m.BOS(), m.EOS()} {
		if tok, ok := m.IDToToken(id); ok && id >= 0 {
			cfg.AddedTokens = append(cfg.AddedTokens, tokenizer.AddedToken{Content: tok, ID: id, Special: true})
		}
	}
	if bos, ok := m.IDToToken(m.BOS()); ok && m.BOS() >= 0 && addBOS {
		cfg.Template = tokenizer.BOSTemplate(bos, m.BOS())
	}
	return tokenizer.New(m, cfg)
}
