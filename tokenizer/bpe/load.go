package bpe

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// EndOfText is GPT-2's one special token.
const EndOfText = "<|endoftext|>"

// maxFileSize bounds the vocabulary files the loaders read (1 GiB).
const maxFileSize = 1 << 30

// LoadFiles loads GPT-2's original vocabulary files: encoder.json (token →
// id) and vocab.bpe (merges, one "a b" pair per line in rank order). If the
// vocabulary has "<|endoftext|>", it is marked special.
func LoadFiles(encoderJSON, vocabBPE string) (*Model, error) {
	enc, err := readFile(encoderJSON)
	if err != nil {
		return nil, err
	}
	mer, err := readFile(vocabBPE)
	if err != nil {
		return nil, err
	}
	vocab, err := ParseEncoderJSON(enc)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, encoderJSON)
	}
	merges, err := ParseMerges(mer)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, vocabBPE)
	}
	var opt Options
	if _, ok := vocab[EndOfText]; ok {
		opt.SpecialTokens = []string{EndOfText}
	}
	return New(vocab, merges, opt)
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("bpe: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("bpe: read %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("bpe: %s is larger than %d bytes", path, maxFileSize)
	}
	return data, nil
}

// ParseEncoderJSON parses an encoder.json vocabulary: one JSON object mapping
// each token to its id.
func ParseEncoderJSON(data []byte) (map[string]int, error) {
	var vocab map[string]int
	if err := json.Unmarshal(data, &vocab); err != nil {
		return nil, fmt.Errorf("bpe: encoder.json: %w", err)
	}
	if len(vocab) == 0 {
		return nil, fmt.Errorf("bpe: encoder.json: empty vocabulary")
	}
	return vocab, nil
}

// ParseMerges parses a vocab.bpe / merges.txt file: an optional "#version"
// line, then one merge per line, the two tokens separated by one space.
// Blank lines are ignored.
func ParseMerges(data []byte) ([][2]string, error) {
	var merges [][2]string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), maxFileSize)
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSuffix(sc.Text(), "\r")
		if s == "" || (line == 1 && strings.HasPrefix(s, "#version")) {
			continue
		}
		a, b, ok := strings.Cut(s, " ")
		if !ok || a == "" || b == "" || strings.Contains(b, " ") {
			return nil, fmt.Errorf("bpe: merges line %d: %q is not two tokens separated by a space", line, s)
		}
		merges = append(merges, [2]string{a, b})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("bpe: merges: %w", err)
	}
	return merges, nil
}

// hfTokenizer is the part of a Hugging Face tokenizer.json this package reads.
type hfTokenizer struct {
	AddedTokens []struct {
		ID      int    `json:"id"`
		Content string `json:"content"`
		Special bool   `json:"special"`
	} `json:"added_tokens"`
	PreTokenizer *hfComponent `json:"pre_tokenizer"`
	Decoder      *hfComponent `json:"decoder"`
	Normalizer   *hfComponent `json:"normalizer"`
	Model        struct {
		Type                    string          `json:"type"`
		Vocab                   map[string]int  `json:"vocab"`
		Merges                  json.RawMessage `json:"merges"`
		UnkToken                *string         `json:"unk_token"`
		ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
		EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
		ByteFallback            bool            `json:"byte_fallback"`
		Dropout                 *float64        `json:"dropout"`
	} `json:"model"`
}

// hfComponent is a normalizer, pre-tokenizer or decoder entry.
type hfComponent struct {
	Type           string        `json:"type"`
	AddPrefixSpace *bool         `json:"add_prefix_space"`
	UseRegex       *bool         `json:"use_regex"`
	PreTokenizers  []hfComponent `json:"pretokenizers"`
	Pattern        struct {
		Regex *string `json:"Regex"`
	} `json:"pattern"`
	Behavior string `json:"behavior"`
	Invert   bool   `json:"invert"`
}

// GPT2Pattern is GPT-2's pre-tokenization expression, which Pretokens
// implements.
const GPT2Pattern = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`

// isGPT2Split reports whether c is a Split pre-tokenizer with GPT-2's
// expression, which some tokenizer.json files spell out in front of a
// ByteLevel pre-tokenizer with use_regex false.
func isGPT2Split(c *hfComponent) bool {
	return c.Type == "Split" && c.Pattern.Regex != nil && *c.Pattern.Regex == GPT2Pattern &&
		c.Behavior == "Isolated" && !c.Invert
}

// parseHFMerges accepts both merge layouts of tokenizer.json: ["a b", ...]
// and [["a", "b"], ...].
func parseHFMerges(raw json.RawMessage) ([][2]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var asStrings []string
	if err := json.Unmarshal(raw, &asStrings); err == nil {
		merges := make([][2]string, len(asStrings))
		for i, s := range asStrings {
			a, b, ok := strings.Cut(s, " ")
			if !ok || strings.Contains(b, " ") {
				return nil, fmt.Errorf("bpe: tokenizer.json: merge %d %q is not two tokens separated by a space", i, s)
			}
			merges[i] = [2]string{a, b}
		}
		return merges, nil
	}
	var asPairs [][]string
	if err := json.Unmarshal(raw, &asPairs); err != nil {
		return nil, fmt.Errorf("bpe: tokenizer.json: merges are neither strings nor pairs: %w", err)
	}
	merges := make([][2]string, len(asPairs))
	for i, p := range asPairs {
		if len(p) != 2 {
			return nil, fmt.Errorf("bpe: tokenizer.json: merge %d has %d parts, want 2", i, len(p))
		}
		merges[i] = [2]string{p[0], p[1]}
	}
	return merges, nil
}

// byteLevelPreTokenizer finds the ByteLevel pre-tokenizer, alone or in a
// Sequence; it fails for anything this package cannot reproduce.
func byteLevelPreTokenizer(c *hfComponent) (addPrefixSpace bool, err error) {
	if c == nil {
		return false, fmt.Errorf("bpe: tokenizer.json: no pre_tokenizer; only byte-level BPE (ByteLevel pre_tokenizer) is supported")
	}
	switch c.Type {
	case "ByteLevel":
		if c.UseRegex != nil && !*c.UseRegex {
			return false, fmt.Errorf("bpe: tokenizer.json: ByteLevel pre_tokenizer without the GPT-2 regex (use_regex false) is not supported")
		}
		return c.AddPrefixSpace != nil && *c.AddPrefixSpace, nil
	case "Sequence":
		switch p := c.PreTokenizers; {
		case len(p) == 1:
			return byteLevelPreTokenizer(&p[0])
		case len(p) == 2 && isGPT2Split(&p[0]) && p[1].Type == "ByteLevel":
			return p[1].AddPrefixSpace != nil && *p[1].AddPrefixSpace, nil
		}
	}
	return false, fmt.Errorf("bpe: tokenizer.json: pre_tokenizer %q is not supported (want ByteLevel)", c.Type)
}

// FromTokenizerJSON builds a model from a Hugging Face tokenizer.json with a
// byte-level BPE model (GPT-2, RoBERTa, GPT-J, ...). It reads the "model"
// section, the ByteLevel pre-tokenizer's add_prefix_space, and added_tokens
// only to know their ids and which are special (Decode's skipSpecial);
// splitting text on added tokens and post-processing belong to the
// tokenizer pipeline.
func FromTokenizerJSON(data []byte) (*Model, error) {
	var tj hfTokenizer
	if err := json.Unmarshal(data, &tj); err != nil {
		return nil, fmt.Errorf("bpe: tokenizer.json: %w", err)
	}
	mj := &tj.Model
	if mj.Type != "" && mj.Type != "BPE" {
		return nil, fmt.Errorf("bpe: tokenizer.json: model type %q, want BPE", mj.Type)
	}
	if mj.ByteFallback {
		return nil, fmt.Errorf("bpe: tokenizer.json: byte_fallback BPE is SentencePiece-style; use package sentencepiece")
	}
	if p := mj.ContinuingSubwordPrefix; p != nil && *p != "" {
		return nil, fmt.Errorf("bpe: tokenizer.json: continuing_subword_prefix %q is not supported", *p)
	}
	if s := mj.EndOfWordSuffix; s != nil && *s != "" {
		return nil, fmt.Errorf("bpe: tokenizer.json: end_of_word_suffix %q is not supported", *s)
	}
	if tj.Normalizer != nil && tj.Normalizer.Type != "" {
		return nil, fmt.Errorf("bpe: tokenizer.json: normalizer %q is not supported", tj.Normalizer.Type)
	}
	prefix, err := byteLevelPreTokenizer(tj.PreTokenizer)
	if err != nil {
		return nil, err
	}
	merges, err := parseHFMerges(mj.Merges)
	if err != nil {
		return nil, err
	}
	opt := Options{AddPrefixSpace: prefix}
	if mj.UnkToken != nil {
		opt.UnknownToken = *mj.UnkToken
	}
	vocab := mj.Vocab
	if vocab == nil {
		vocab = map[string]int{}
	}
	// Added tokens missing from the model's vocabulary get their ids here.
	var extra []int
	for i, at := range tj.AddedTokens {
		if id, ok := vocab[at.Content]; ok && id == at.ID {
			if at.Special {
				opt.SpecialTokens = append(opt.SpecialTokens, at.Content)
			}
			continue
		}
		extra = append(extra, i)
	}
	m, err := New(vocab, merges, opt)
	if err != nil {
		return nil, err
	}
	for _, i := range extra {
		at := tj.AddedTokens[i]
		if err := m.addToken(at.Content, at.ID, at.Special); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// addToken gives an added token (whose text is stored as is, not in the
// byte-level alphabet) an id outside the model's vocabulary. Only loaders
// call it, before the model is shared.
func (m *Model) addToken(content string, id int, special bool) error {
	if content == "" {
		return fmt.Errorf("bpe: tokenizer.json: added token %d is empty", id)
	}
	if id < 0 || id >= len(m.tokens)+maxIDGap {
		return fmt.Errorf("bpe: tokenizer.json: added token %q has id %d, outside [0, %d)", content, id, len(m.tokens)+maxIDGap)
	}
	if old, ok := m.ids[content]; ok {
		return fmt.Errorf("bpe: tokenizer.json: added token %q has id %d but the vocabulary gives it %d", content, id, old)
	}
	for len(m.tokens) <= id {
		m.tokens = append(m.tokens, "")
		m.raw = append(m.raw, "")
		m.special = append(m.special, false)
	}
	if m.tokens[id] != "" {
		return fmt.Errorf("bpe: tokenizer.json: added token %q has id %d, already %q", content, id, m.tokens[id])
	}
	m.tokens[id], m.raw[id], m.special[id] = content, content, special
	m.ids[content] = id
	return nil
}
