package wordpiece

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// tokenizerJSON is the part of a Hugging Face tokenizer.json this package
// reads.
type tokenizerJSON struct {
	AddedTokens []struct {
		ID      int    `json:"id"`
		Content string `json:"content"`
		Special bool   `json:"special"`
	} `json:"added_tokens"`
	Normalizer *struct {
		Type               string `json:"type"`
		CleanText          *bool  `json:"clean_text"`
		HandleChineseChars *bool  `json:"handle_chinese_chars"`
		StripAccents       *bool  `json:"strip_accents"`
		Lowercase          *bool  `json:"lowercase"`
	} `json:"normalizer"`
	PreTokenizer *struct {
		Type string `json:"type"`
	} `json:"pre_tokenizer"`
	Decoder *struct {
		Type    string `json:"type"`
		Prefix  string `json:"prefix"`
		Cleanup *bool  `json:"cleanup"`
	} `json:"decoder"`
	Model *struct {
		Type                    string         `json:"type"`
		Vocab                   map[string]int `json:"vocab"`
		UnkToken                *string        `json:"unk_token"`
		ContinuingSubwordPrefix *string        `json:"continuing_subword_prefix"`
		MaxInputCharsPerWord    *int           `json:"max_input_chars_per_word"`
	} `json:"model"`
}

// FromTokenizerJSON builds a Model from a Hugging Face tokenizer.json whose
// model is WordPiece, with a BertNormalizer (or none) and a BertPreTokenizer.
// Special tokens in "added_tokens" are the ones Decode can skip. The
// template, truncation and padding sections are read by tokenizer.FromJSON.
func FromTokenizerJSON(data []byte) (*Model, error) {
	var f tokenizerJSON
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("wordpiece: tokenizer.json: %w", err)
	}
	mj := f.Model
	if mj == nil {
		return nil, fmt.Errorf("wordpiece: tokenizer.json: no model")
	}
	if mj.Type != "" && mj.Type != "WordPiece" {
		return nil, fmt.Errorf("wordpiece: tokenizer.json: model type %q, want WordPiece", mj.Type)
	}
	if len(mj.Vocab) == 0 {
		return nil, fmt.Errorf("wordpiece: tokenizer.json: empty vocabulary")
	}
	var opts Options
	if mj.UnkToken != nil {
		opts.UnkToken = *mj.UnkToken
	}
	if p := mj.ContinuingSubwordPrefix; p != nil {
		if *p == "" {
			return nil, fmt.Errorf("wordpiece: tokenizer.json: empty continuing_subword_prefix is not supported")
		}
		opts.Prefix = *p
	}
	if n := mj.MaxInputCharsPerWord; n != nil {
		if *n <= 0 {
			return nil, fmt.Errorf("wordpiece: tokenizer.json: max_input_chars_per_word %d must be positive", *n)
		}
		opts.MaxInputCharsPerWord = *n
	}
	switch n := f.Normalizer; {
	case n == nil:
		opts.KeepControl, opts.NoCJKSplit, opts.Cased, opts.Accents = true, true, true, AccentsKeep
	case n.Type == "BertNormalizer":
		isFalse := func(b *bool) bool { return b != nil && !*b } // fields default to true
		opts.KeepControl = isFalse(n.CleanText)
		opts.NoCJKSplit = isFalse(n.HandleChineseChars)
		opts.Cased = isFalse(n.Lowercase)
		if n.StripAccents != nil {
			opts.Accents = AccentsKeep
			if *n.StripAccents {
				opts.Accents = AccentsStrip
			}
		}
	default:
		return nil, fmt.Errorf("wordpiece: tokenizer.json: unsupported normalizer %q (want BertNormalizer)", n.Type)
	}
	if p := f.PreTokenizer; p == nil || p.Type != "BertPreTokenizer" {
		typ := "null"
		if p != nil {
			typ = fmt.Sprintf("%q", p.Type)
		}
		return nil, fmt.Errorf("wordpiece: tokenizer.json: unsupported pre_tokenizer %s (want BertPreTokenizer)", typ)
	}
	if d := f.Decoder; d != nil {
		if d.Type != "WordPiece" {
			return nil, fmt.Errorf("wordpiece: tokenizer.json: unsupported decoder %q (want WordPiece)", d.Type)
		}
		if d.Prefix != "" && d.Prefix != opts.Prefix && !(opts.Prefix == "" && d.Prefix == "##") {
			return nil, fmt.Errorf("wordpiece: tokenizer.json: decoder prefix %q differs from the model's", d.Prefix)
		}
		opts.NoCleanup = d.Cleanup != nil && !*d.Cleanup
	}
	opts.SpecialTokens = []string{}
	for _, a := range f.AddedTokens {
		if a.Special {
			opts.SpecialTokens = append(opts.SpecialTokens, a.Content)
		}
	}

	// Ids must be dense enough for an id → token table.
	maxID := -1
	for t, id := range mj.Vocab {
		if id < 0 || id >= 4*len(mj.Vocab)+1024 {
			return nil, fmt.Errorf("wordpiece: tokenizer.json: token %q has id %d outside [0, %d)", t, id, 4*len(mj.Vocab)+1024)
		}
		maxID = max(maxID, id)
	}
	tokens := make([]string, maxID+1)
	seen := make([]bool, maxID+1)
	for t, id := range mj.Vocab {
		if seen[id] {
			return nil, fmt.Errorf("wordpiece: tokenizer.json: id %d used by %q and %q", id, tokens[id], t)
		}
		tokens[id], seen[id] = t, true
	}
	var holes map[int]bool
	for id, ok := range seen {
		if !ok {
			if holes == nil {
				holes = make(map[int]bool)
			}
			holes[id] = true
		}
	}
	return newModel(mj.Vocab, tokens, holes, opts)
}

// TokenizerJSON returns a Hugging Face tokenizer.json for the model:
// BertNormalizer and BertPreTokenizer with the model's options, the
// WordPiece model and decoder, the special tokens as added tokens, and,
// when the vocabulary has [CLS] and [SEP], BERT's TemplateProcessing.
func (m *Model) TokenizerJSON() ([]byte, error) {
	type added struct {
		ID         int    `json:"id"`
		Content    string `json:"content"`
		SingleWord bool   `json:"single_word"`
		LStrip     bool   `json:"lstrip"`
		RStrip     bool   `json:"rstrip"`
		Normalized bool   `json:"normalized"`
		Special    bool   `json:"special"`
	}
	type piece map[string]map[string]any
	type special struct {
		ID     string   `json:"id"`
		IDs    []int    `json:"ids"`
		Tokens []string `json:"tokens"`
	}
	addedTokens := []added{}
	for id, tok := range m.tokens {
		if m.special[id] {
			addedTokens = append(addedTokens, added{ID: id, Content: tok, Special: true})
		}
	}
	var post any
	cls, okC := m.vocab["[CLS]"]
	sep, okS := m.vocab["[SEP]"]
	if okC && okS {
		sp := func(id string, t int) piece { return piece{"SpecialToken": {"id": id, "type_id": t}} }
		sq := func(id string, t int) piece { return piece{"Sequence": {"id": id, "type_id": t}} }
		post = map[string]any{
			"type":   "TemplateProcessing",
			"single": []piece{sp("[CLS]", 0), sq("A", 0), sp("[SEP]", 0)},
			"pair":   []piece{sp("[CLS]", 0), sq("A", 0), sp("[SEP]", 0), sq("B", 1), sp("[SEP]", 1)},
			"special_tokens": map[string]special{
				"[CLS]": {ID: "[CLS]", IDs: []int{cls}, Tokens: []string{"[CLS]"}},
				"[SEP]": {ID: "[SEP]", IDs: []int{sep}, Tokens: []string{"[SEP]"}},
			},
		}
	}
	var strip any // null: follow lowercase
	switch m.opts.Accents {
	case AccentsStrip:
		strip = true
	case AccentsKeep:
		strip = false
	}
	// The vocabulary is written in id order, as Hugging Face does.
	var vocab bytes.Buffer
	vocab.WriteByte('{')
	for id, tok := range m.tokens {
		if m.holes[id] {
			continue
		}
		if vocab.Len() > 1 {
			vocab.WriteByte(',')
		}
		k, err := json.Marshal(tok)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&vocab, "%s:%d", k, id)
	}
	vocab.WriteByte('}')
	doc := struct {
		Version       string         `json:"version"`
		Truncation    any            `json:"truncation"`
		Padding       any            `json:"padding"`
		AddedTokens   []added        `json:"added_tokens"`
		Normalizer    map[string]any `json:"normalizer"`
		PreTokenizer  map[string]any `json:"pre_tokenizer"`
		PostProcessor any            `json:"post_processor"`
		Decoder       map[string]any `json:"decoder"`
		Model         map[string]any `json:"model"`
	}{
		Version:     "1.0",
		AddedTokens: addedTokens,
		Normalizer: map[string]any{
			"type": "BertNormalizer", "clean_text": m.cleanText, "handle_chinese_chars": m.chineseChars,
			"strip_accents": strip, "lowercase": m.lowercase,
		},
		PreTokenizer:  map[string]any{"type": "BertPreTokenizer"},
		PostProcessor: post,
		Decoder:       map[string]any{"type": "WordPiece", "prefix": m.prefix, "cleanup": m.cleanup},
		Model: map[string]any{
			"type": "WordPiece", "unk_token": m.unk, "continuing_subword_prefix": m.prefix,
			"max_input_chars_per_word": m.maxChars, "vocab": json.RawMessage(vocab.Bytes()),
		},
	}
	return json.MarshalIndent(doc, "", "  ")
}
