package auto

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/glossa-ai/glossa/internal/atomicfile"
	"github.com/glossa-ai/glossa/tokenizer/unigram"
)

// MarianFiles lays a SentencePiece Unigram .model out as a Hugging Face
// MarianTokenizer folder uses it, for a model with one vocabulary on both
// sides: source.spm and target.spm (the model itself), vocab.json (every
// piece at its SentencePiece id, and "<pad>" at the next id when the model
// has no padding piece) and tokenizer_config.json. It returns the files by
// name, and the padding and end-of-sequence ids.
func MarianFiles(spm []byte) (files map[string][]byte, padID, eosID int, err error) {
	m, err := unigram.ParseModel(spm)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("auto: marian: %w", err)
	}
	vocab := map[string]int{}
	for id := range m.VocabSize() {
		p, _ := m.IDToToken(id)
		if _, dup := vocab[p]; dup {
			return nil, 0, 0, fmt.Errorf("auto: marian: piece %q appears twice", p)
		}
		vocab[p] = id
	}
	eos, unk := m.EOS(), m.UnknownID()
	if eos < 0 || unk < 0 {
		return nil, 0, 0, fmt.Errorf("auto: marian: the model needs </s> and <unk> pieces (eos id %d, unk id %d)", eos, unk)
	}
	eosText, _ := m.IDToToken(eos)
	unkText, _ := m.IDToToken(unk)
	if eosText != "</s>" || unkText != "<unk>" {
		return nil, 0, 0, fmt.Errorf("auto: marian: end and unknown pieces are %q and %q; MarianTokenizer wants </s> and <unk>", eosText, unkText)
	}
	pad := m.PAD()
	if pad < 0 {
		pad = m.VocabSize()
		if _, taken := vocab["<pad>"]; taken {
			return nil, 0, 0, fmt.Errorf("auto: marian: \"<pad>\" is an ordinary piece of the model")
		}
		vocab["<pad>"] = pad
	}
	padText := "<pad>"
	if p, ok := m.IDToToken(pad); ok {
		padText = p
	}
	vj, err := json.MarshalIndent(vocab, "", " ")
	if err != nil {
		return nil, 0, 0, err
	}
	cfg, err := json.MarshalIndent(map[string]any{
		"tokenizer_class": "MarianTokenizer", "source_lang": nil, "target_lang": nil,
		"eos_token": "</s>", "unk_token": "<unk>", "pad_token": padText,
		"model_max_length": 512, "separate_vocabs": false,
	}, "", "  ")
	if err != nil {
		return nil, 0, 0, err
	}
	return map[string][]byte{"source.spm": spm, "target.spm": spm, "vocab.json": vj, "tokenizer_config.json": cfg}, pad, eos, nil
}

// WriteFiles writes files (as MarianFiles returns them) into dir, each
// atomically.
func WriteFiles(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("auto: %w", err)
	}
	for name, b := range files {
		if err := atomicfile.WriteFile(filepath.Join(dir, name), b); err != nil {
			return fmt.Errorf("auto: %w", err)
		}
	}
	return nil
}
