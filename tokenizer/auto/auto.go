// Package auto loads a tokenizer.Tokenizer from whatever files a model
// ships: a Hugging Face tokenizer.json (WordPiece, byte-level BPE,
// SentencePiece-style BPE or Unigram), a BERT vocab.txt, GPT-2's
// encoder.json and vocab.bpe, a SentencePiece model file (Llama's
// tokenizer.model, T5's spiece.model, Marian's source.spm with vocab.json,
// XLM-R's sentencepiece.bpe.model) or a llama2.c tokenizer.bin. It picks the
// model package (tokenizer/wordpiece, tokenizer/bpe, tokenizer/sentencepiece,
// tokenizer/unigram) and the matching template and special tokens.
package auto

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/glossa-ai/glossa/tokenizer"
	"github.com/glossa-ai/glossa/tokenizer/bpe"
	"github.com/glossa-ai/glossa/tokenizer/char"
	"github.com/glossa-ai/glossa/tokenizer/wordpiece"
)

// maxFileSize bounds every file Load reads (1 GiB).
const maxFileSize = 1 << 30

// Load returns the tokenizer stored at path. path is either a model folder
// or one file.
//
// In a folder, the first of these that exists is used: tokenizer.json;
// vocab.txt (BERT WordPiece, with tokenizer_config.json's do_lower_case,
// strip_accents and tokenize_chinese_chars when present); encoder.json +
// vocab.bpe or vocab.json + merges.txt (GPT-2 byte-level BPE); source.spm
// + vocab.json (Marian); spiece.model (T5); sentencepiece.bpe.model
// (XLM-R); tokenizer.model (SentencePiece BPE or Unigram); tokenizer.bin
// (llama2.c).
//
// A file is recognised by its name: *.json holding a "model" section is a
// tokenizer.json, encoder.json or vocab.json pairs with a vocab.bpe or
// merges.txt beside it (or is Marian's, with a source.spm), *.txt is a
// WordPiece vocabulary, *.model and *.spm are SentencePiece models (BPE or
// Unigram, see unigram.go for the Unigram layouts), *.bin a llama2.c
// tokenizer.
func Load(path string) (*tokenizer.Tokenizer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("auto: %w", err)
	}
	if st.IsDir() {
		return loadDir(path)
	}
	return loadFile(path)
}

func exists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir()
}

func loadDir(dir string) (*tokenizer.Tokenizer, error) {
	j := func(name string) string { return filepath.Join(dir, name) }
	switch {
	case exists(j("tokenizer.json")):
		return loadFile(j("tokenizer.json"))
	case exists(j("vocab.txt")):
		return loadVocabTxt(j("vocab.txt"))
	case exists(j("encoder.json")) && exists(j("vocab.bpe")):
		return loadGPT2Files(j("encoder.json"), j("vocab.bpe"))
	case exists(j("vocab.json")) && exists(j("merges.txt")):
		return loadGPT2Files(j("vocab.json"), j("merges.txt"))
	case exists(j("source.spm")):
		return loadSPMFile(j("source.spm"))
	case exists(j("spiece.model")):
		return loadSPMFile(j("spiece.model"))
	case exists(j("sentencepiece.bpe.model")):
		return loadSPMFile(j("sentencepiece.bpe.model"))
	case exists(j("tokenizer.model")):
		return loadSPMFile(j("tokenizer.model"))
	case exists(j("tokenizer.bin")):
		return loadLlama2C(j("tokenizer.bin"))
	case exists(j(char.VocabFile)):
		return loadChar(j(char.VocabFile))
	}
	return nil, fmt.Errorf("auto: %s has no tokenizer.json, vocab.txt, encoder.json+vocab.bpe, vocab.json+merges.txt, source.spm, spiece.model, sentencepiece.bpe.model, tokenizer.model, tokenizer.bin or %s", dir, char.VocabFile)
}

func loadFile(path string) (*tokenizer.Tokenizer, error) {
	dir, base := filepath.Split(path)
	sibling := func(names ...string) string {
		for _, n := range names {
			if p := filepath.Join(dir, n); exists(p) {
				return p
			}
		}
		return ""
	}
	switch ext := strings.ToLower(filepath.Ext(base)); {
	case base == char.VocabFile:
		return loadChar(path)
	case base == "vocab.json" && sibling("merges.txt") == "" && sibling("source.spm") != "":
		return loadSPMFile(sibling("source.spm"))
	case base == "encoder.json" || base == "vocab.json":
		merges := sibling("vocab.bpe", "merges.txt")
		if merges == "" {
			return nil, fmt.Errorf("auto: %s: no vocab.bpe or merges.txt beside it", path)
		}
		return loadGPT2Files(path, merges)
	case base == "vocab.bpe" || base == "merges.txt":
		enc := sibling("encoder.json", "vocab.json")
		if enc == "" {
			return nil, fmt.Errorf("auto: %s: no encoder.json or vocab.json beside it", path)
		}
		return loadGPT2Files(enc, path)
	case ext == ".json":
		data, err := readFile(path)
		if err != nil {
			return nil, err
		}
		t, err := FromTokenizerJSON(data)
		if err != nil {
			return nil, fmt.Errorf("%w (%s)", err, path)
		}
		return t, nil
	case ext == ".txt":
		return loadVocabTxt(path)
	case ext == ".model" || ext == ".spm":
		return loadSPMFile(path)
	case ext == ".bin":
		return loadLlama2C(path)
	case ext == ".gguf":
		return loadGGUF(path)
	}
	return nil, fmt.Errorf("auto: %s: unrecognised tokenizer file (want tokenizer.json, vocab.txt, encoder.json, vocab.bpe, *.model, *.spm, *.bin or *.gguf)", path)
}

// loadChar wraps a character vocabulary (glossa pretrain --tokenizer char):
// no special tokens, no template.
func loadChar(path string) (*tokenizer.Tokenizer, error) {
	m, err := char.Load(path)
	if err != nil {
		return nil, fmt.Errorf("auto: %w", err)
	}
	return tokenizer.New(m, tokenizer.Config{})
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("auto: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("auto: read %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("auto: %s is larger than %d bytes", path, maxFileSize)
	}
	return data, nil
}

// modelKind is the vocabulary model a tokenizer.json describes.
type modelKind int

const (
	kindWordPiece modelKind = iota
	kindByteLevelBPE
	kindSentencePieceBPE
	kindUnigram
)

// sniff reads enough of a tokenizer.json to choose the model package.
func sniff(data []byte) (modelKind, error) {
	var f struct {
		Normalizer   json.RawMessage `json:"normalizer"`
		PreTokenizer json.RawMessage `json:"pre_tokenizer"`
		Decoder      json.RawMessage `json:"decoder"`
		Model        *struct {
			Type                    string          `json:"type"`
			Merges                  json.RawMessage `json:"merges"`
			ByteFallback            bool            `json:"byte_fallback"`
			ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
			MaxInputCharsPerWord    *int            `json:"max_input_chars_per_word"`
		} `json:"model"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return 0, fmt.Errorf("auto: tokenizer.json: %w", err)
	}
	m := f.Model
	if m == nil {
		return 0, fmt.Errorf("auto: tokenizer.json: no model section")
	}
	typ := m.Type
	if typ == "" { // files written before "type" existed
		switch {
		case len(m.Merges) > 0:
			typ = "BPE"
		case m.MaxInputCharsPerWord != nil || m.ContinuingSubwordPrefix != nil:
			typ = "WordPiece"
		}
	}
	switch typ {
	case "WordPiece":
		return kindWordPiece, nil
	case "BPE":
		// SentencePiece-converted BPE (Llama) falls back to bytes and marks
		// spaces with "▁" (a Metaspace pre-tokenizer or a Replace
		// normalizer); GPT-2-style BPE uses the byte-level alphabet.
		meta := strings.Contains(string(f.Normalizer), "▁") || strings.Contains(string(f.PreTokenizer), "Metaspace") ||
			strings.Contains(string(f.Decoder), "▁") || strings.Contains(string(f.Decoder), "Metaspace")
		if m.ByteFallback || meta {
			return kindSentencePieceBPE, nil
		}
		return kindByteLevelBPE, nil
	case "Unigram":
		return kindUnigram, nil
	case "":
		return 0, fmt.Errorf("auto: tokenizer.json: cannot tell the model type (no \"type\", merges or WordPiece fields)")
	}
	return 0, fmt.Errorf("auto: tokenizer.json: unsupported model type %q", typ)
}

// FromTokenizerJSON builds a Tokenizer from the bytes of a Hugging Face
// tokenizer.json: the model section picks the model package, and
// tokenizer.FromJSON adds the added tokens, template, truncation and padding.
func FromTokenizerJSON(data []byte) (*tokenizer.Tokenizer, error) {
	kind, err := sniff(data)
	if err != nil {
		return nil, err
	}
	var m tokenizer.Model
	switch kind {
	case kindWordPiece:
		m, err = wordpiece.FromTokenizerJSON(data)
	case kindByteLevelBPE:
		m, err = bpe.FromTokenizerJSON(data)
	case kindSentencePieceBPE:
		m, err = sentencePieceFromJSON(data)
	case kindUnigram:
		m, err = unigramFromJSON(data)
	}
	if err != nil {
		return nil, err
	}
	return tokenizer.FromJSON(data, m)
}

// bertConfig is the part of a BERT tokenizer_config.json that matters here.
type bertConfig struct {
	DoLowerCase          *bool           `json:"do_lower_case"`
	StripAccents         *bool           `json:"strip_accents"`
	TokenizeChineseChars *bool           `json:"tokenize_chinese_chars"`
	UnkToken             json.RawMessage `json:"unk_token"`
	SepToken             json.RawMessage `json:"sep_token"`
	PadToken             json.RawMessage `json:"pad_token"`
	ClsToken             json.RawMessage `json:"cls_token"`
	MaskToken            json.RawMessage `json:"mask_token"`
}

// tokenName reads a special token written as "[SEP]" or {"content": "[SEP]", ...}.
func tokenName(raw json.RawMessage, def string) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return def, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var o struct {
		Content string `json:"content"`
	}
	if err := json.Unmarshal(raw, &o); err != nil || o.Content == "" {
		return "", fmt.Errorf("special token %s is neither a string nor {\"content\": ...}", raw)
	}
	return o.Content, nil
}

// loadVocabTxt loads a BERT vocab.txt and the tokenizer_config.json beside it.
func loadVocabTxt(path string) (*tokenizer.Tokenizer, error) {
	var cfg bertConfig
	cfgPath := filepath.Join(filepath.Dir(path), "tokenizer_config.json")
	if exists(cfgPath) {
		data, err := readFile(cfgPath)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(data, &cfg); err != nil {
			return nil, fmt.Errorf("auto: %s: %w", cfgPath, err)
		}
	}
	var names [5]string
	for i, f := range []struct {
		raw json.RawMessage
		def string
	}{{cfg.UnkToken, "[UNK]"}, {cfg.ClsToken, "[CLS]"}, {cfg.SepToken, "[SEP]"}, {cfg.PadToken, "[PAD]"}, {cfg.MaskToken, "[MASK]"}} {
		n, err := tokenName(f.raw, f.def)
		if err != nil {
			return nil, fmt.Errorf("auto: %s: %w", cfgPath, err)
		}
		names[i] = n
	}
	opts := wordpiece.Options{UnkToken: names[0], SpecialTokens: names[:]}
	if cfg.DoLowerCase != nil && !*cfg.DoLowerCase {
		opts.Cased = true
	}
	if cfg.StripAccents != nil {
		opts.Accents = wordpiece.AccentsKeep
		if *cfg.StripAccents {
			opts.Accents = wordpiece.AccentsStrip
		}
	}
	if cfg.TokenizeChineseChars != nil && !*cfg.TokenizeChineseChars {
		opts.NoCJKSplit = true
	}
	m, err := wordpiece.LoadVocab(path, opts)
	if err != nil {
		return nil, err
	}
	var added []tokenizer.AddedToken
	for _, n := range names {
		if id, ok := m.TokenToID(n); ok {
			added = append(added, tokenizer.AddedToken{Content: n, ID: id, Special: true})
		}
	}
	var tmpl *tokenizer.Template
	cls, okC := m.TokenToID(names[1])
	sep, okS := m.TokenToID(names[2])
	if okC && okS {
		tmpl = tokenizer.BERTTemplate(names[1], cls, names[2], sep)
	}
	return tokenizer.New(m, tokenizer.Config{AddedTokens: added, Template: tmpl})
}

// loadGPT2Files loads GPT-2's encoder.json and vocab.bpe: no template, and
// "<|endoftext|>" as a special added token.
func loadGPT2Files(encoder, merges string) (*tokenizer.Tokenizer, error) {
	m, err := bpe.LoadFiles(encoder, merges)
	if err != nil {
		return nil, err
	}
	var added []tokenizer.AddedToken
	if id, ok := m.TokenToID(bpe.EndOfText); ok {
		added = append(added, tokenizer.AddedToken{Content: bpe.EndOfText, ID: id, Special: true})
	}
	return tokenizer.New(m, tokenizer.Config{AddedTokens: added})
}
