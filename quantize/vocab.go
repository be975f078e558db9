package quantize

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/glossa-ai/glossa/checkpoint/gguf"
	"github.com/glossa-ai/glossa/tokenizer/sentencepiece"
)

// readVocabulary reads the vocabulary at path — a llama2.c tokenizer.bin, a
// SentencePiece tokenizer.model, a .gguf file, or a folder holding
// tokenizer.model or tokenizer.bin — for a model of vocab tokens.
func readVocabulary(path string, vocab int) (*gguf.Tokenizer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("quantize: tokenizer: %w", err)
	}
	if st.IsDir() {
		for _, name := range []string{"tokenizer.model", "tokenizer.bin"} {
			if p := filepath.Join(path, name); isFile(p) {
				return readVocabulary(p, vocab)
			}
		}
		return nil, fmt.Errorf("quantize: %s holds no tokenizer.model or tokenizer.bin; give the vocabulary with --tokenizer", path)
	}
	var tk *gguf.Tokenizer
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".bin":
		m, err := sentencepiece.LoadLlama2C(path)
		if err != nil {
			return nil, fmt.Errorf("quantize: %w", err)
		}
		tk = llama2CVocabulary(m)
	case ".model":
		m, err := sentencepiece.LoadModel(path)
		if err != nil {
			return nil, fmt.Errorf("quantize: %w", err)
		}
		tk = sentencePieceVocabulary(m, vocab)
	case ".gguf":
		f, err := gguf.Open(path)
		if err != nil {
			return nil, fmt.Errorf("quantize: %w", err)
		}
		defer f.Close()
		if tk, err = f.Tokenizer(); err != nil {
			return nil, fmt.Errorf("quantize: tokenizer: %w", err)
		}
	default:
		return nil, fmt.Errorf("quantize: %s: unrecognised tokenizer (want a tokenizer.bin, tokenizer.model or .gguf file)", path)
	}
	if len(tk.Tokens) != vocab {
		return nil, fmt.Errorf("quantize: tokenizer %s has %d tokens, the model's vocabulary %d", path, len(tk.Tokens), vocab)
	}
	return tk, nil
}

func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir()
}

// llama2CVocabulary converts a llama2.c vocabulary
// as llama.cpp's examples/convert-llama2c-to-ggml does: ids 0, 1, 2 become
// <unk> (unknown), <s> and </s> (control), an empty piece is control, a
// piece starting "<0xN" or "<0xNN>" is a byte, the rest normal; a space is
// written as U+2581. BOS is added, EOS not.
func llama2CVocabulary(m *sentencepiece.Model) *gguf.Tokenizer {
	n := m.VocabSize()
	tk := &gguf.Tokenizer{Model: "llama", Tokens: make([]string, n), Scores: make([]float32, n),
		Types: make([]gguf.TokenType, n), UNK: 0, BOS: 1, EOS: 2, PAD: -1, SEP: -1, CLS: -1, Mask: -1, EOT: -1}
	yes, no := true, false
	tk.AddBOS, tk.AddEOS = &yes, &no
	for id := range n {
		s, _ := m.IDToToken(id)
		s = strings.ToValidUTF8(s, "\uFFFD")
		t := gguf.TokenNormal
		switch {
		case id == 0:
			s, t = "<unk>", gguf.TokenUnknown
		case id == 1:
			s, t = "<s>", gguf.TokenControl
		case id == 2:
			s, t = "</s>", gguf.TokenControl
		case s == "":
			t = gguf.TokenControl
		case isBytePiece(s):
			t = gguf.TokenByte
		}
		tk.Tokens[id] = strings.ReplaceAll(s, " ", "\u2581")
		tk.Scores[id] = m.Score(id)
		tk.Types[id] = t
	}
	return tk
}

// isBytePiece reports whether s starts like a byte piece: "<0x", one or two
// hex digits, ">".
func isBytePiece(s string) bool {
	rest, ok := strings.CutPrefix(s, "<0x")
	if !ok {
		return false
	}
	hex := func(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
	n := 0
	for n < len(rest) && n < 2 && hex(rest[n]) {
		n++
	}
	return n > 0 && n < len(rest) && rest[n] == '>'
}

// sentencePieceVocabulary converts a tokenizer.model as llama.cpp's
// convert_hf_to_gguf.py does: its pieces, scores and types, padded to vocab
// with "[PADn]" pieces (score -1000, unused) when the model's embedding has
// more rows.
func sentencePieceVocabulary(m *sentencepiece.Model, vocab int) *gguf.Tokenizer {
	n := max(vocab, m.VocabSize())
	tk := &gguf.Tokenizer{Model: "llama", Tokens: make([]string, n), Scores: make([]float32, n),
		Types: make([]gguf.TokenType, n), UNK: -1, BOS: m.BOS(), EOS: m.EOS(), PAD: -1, SEP: -1, CLS: -1, Mask: -1, EOT: -1}
	yes, no := true, false
	tk.AddBOS, tk.AddEOS = &yes, &no
	for id := range n {
		if id >= m.VocabSize() {
			tk.Tokens[id], tk.Scores[id], tk.Types[id] = fmt.Sprintf("[PAD%d]", id), -1000, gguf.TokenUnused
			continue
		}
		tk.Tokens[id], _ = m.IDToToken(id)
		tk.Scores[id] = m.Score(id)
		tk.Types[id] = gguf.TokenType(m.PieceType(id))
		if tk.Types[id] == gguf.TokenUnknown && tk.UNK < 0 {
			tk.UNK = id
		}
	}
	return tk
}
