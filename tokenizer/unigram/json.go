package unigram

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"

	"golang.org/x/text/unicode/norm"

	"github.com/glossa-ai/glossa/tokenizer/internal/spmodel"
)

// hfJSON is the part of a tokenizer.json this package reads.
type hfJSON struct {
	AddedTokens []struct {
		ID      int    `json:"id"`
		Content string `json:"content"`
		Special bool   `json:"special"`
	} `json:"added_tokens"`
	Normalizer   *hfComponent `json:"normalizer"`
	PreTokenizer *hfComponent `json:"pre_tokenizer"`
	Decoder      *hfComponent `json:"decoder"`
	Model        struct {
		Type         string            `json:"type"`
		UnkID        *int              `json:"unk_id"`
		Vocab        []json.RawMessage `json:"vocab"`
		ByteFallback bool              `json:"byte_fallback"`
	} `json:"model"`
}

// hfComponent is a normalizer, pre-tokenizer or decoder entry.
type hfComponent struct {
	Type          string        `json:"type"`
	Normalizers   []hfComponent `json:"normalizers"`
	PreTokenizers []hfComponent `json:"pretokenizers"`
	Decoders      []hfComponent `json:"decoders"`
	Charsmap      *string       `json:"precompiled_charsmap"`
	Pattern       struct {
		String *string `json:"String"`
		Regex  *string `json:"Regex"`
	} `json:"pattern"`
	Content        json.RawMessage `json:"content"` // a string, or Strip's character
	Prepend        string          `json:"prepend"`
	Replacement    string          `json:"replacement"`
	PrependScheme  string          `json:"prepend_scheme"`
	AddPrefixSpace *bool           `json:"add_prefix_space"`
	Split          *bool           `json:"split"`
	StripLeft      *bool           `json:"strip_left"`
	StripRight     *bool           `json:"strip_right"`
	Start          int             `json:"start"`
	Stop           int             `json:"stop"`
}

func (c *hfComponent) content() (string, error) {
	if len(c.Content) == 0 || string(c.Content) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(c.Content, &s); err != nil {
		return "", fmt.Errorf("%s content: %w", c.Type, err)
	}
	return s, nil
}

// FromTokenizerJSON builds a model from a Hugging Face tokenizer.json whose
// model is Unigram (T5, mT5, XLM-R, ALBERT, Pegasus): the vocabulary of
// [piece, score] pairs, unk_id and byte_fallback, with the normalizer,
// pre-tokenizer and decoder sections. Encoding and decoding follow Hugging
// Face tokenizers: scores are float64, every piece (control ones included)
// can be matched, the lowest score of all sets the unknown penalty, runs of
// <unk> are fused, and byte fallback spells whatever is not a piece.
//
// Supported normalizers: Precompiled (applied as sentencepiece applies a
// charsmap, longest rule first), Replace (string or regex), NFC, NFD, NFKC,
// NFKD, Lowercase, Strip, StripAccents, Prepend and Sequences of them.
// Pre-tokenizers: Metaspace (prepend_scheme "first" is treated as
// "always": the model sees one segment at a time), WhitespaceSplit,
// Whitespace, Sequence. Decoders: Metaspace, Replace, ByteFallback, Fuse,
// Strip, Sequence. Added tokens only mark special ids here; matching them
// and the post-processor belong to tokenizer.FromJSON.
func FromTokenizerJSON(data []byte) (*Model, error) {
	var tj hfJSON
	if err := json.Unmarshal(data, &tj); err != nil {
		return nil, fmt.Errorf("unigram: tokenizer.json: %w", err)
	}
	mj := &tj.Model
	if mj.Type != "Unigram" {
		return nil, fmt.Errorf("unigram: tokenizer.json: model type %q, want Unigram", mj.Type)
	}
	n := len(mj.Vocab)
	if n == 0 {
		return nil, fmt.Errorf("unigram: tokenizer.json: empty vocabulary")
	}
	m := &Model{kind: flavourHF, unk: -1, bos: -1, eos: -1, pad: -1, hf: &hfPipeline{}, hfBytes: mj.ByteFallback,
		pieces: make([]string, n), scores: make([]float64, n), types: make([]PieceType, n), special: make([]bool, n),
		minScore: math.Inf(1)}
	ids := make([]int32, n)
	for id, raw := range mj.Vocab {
		var pair []json.RawMessage
		var piece string
		var score float64
		if err := json.Unmarshal(raw, &pair); err != nil || len(pair) != 2 ||
			json.Unmarshal(pair[0], &piece) != nil || json.Unmarshal(pair[1], &score) != nil {
			return nil, fmt.Errorf("unigram: tokenizer.json: vocab[%d] is not a [piece, score] pair", id)
		}
		m.pieces[id], m.scores[id], m.types[id], ids[id] = piece, score, Normal, int32(id)
		m.minScore = min(m.minScore, score)
	}
	if mj.UnkID != nil {
		if *mj.UnkID < 0 || *mj.UnkID >= n {
			return nil, fmt.Errorf("unigram: tokenizer.json: unk_id %d outside the vocabulary of %d", *mj.UnkID, n)
		}
		m.unk = int32(*mj.UnkID)
		m.types[m.unk] = Unknown
	}
	for _, at := range tj.AddedTokens {
		if at.ID >= 0 && at.ID < n && at.Special {
			m.special[at.ID] = true
			if m.types[at.ID] == Normal && m.pieces[at.ID] == at.Content {
				m.types[at.ID] = Control
			}
		}
	}
	m.da = newPieceArray(m.pieces, ids)
	var err error
	if m.hf.norms, err = readNormalizers(tj.Normalizer, nil); err != nil {
		return nil, err
	}
	if m.hf.pres, err = readPreTokenizers(tj.PreTokenizer, nil); err != nil {
		return nil, err
	}
	if tj.Decoder == nil {
		m.hf.noDecode = true
	} else if m.hf.decs, err = readDecoders(tj.Decoder, nil); err != nil {
		return nil, err
	}
	m.finish() // keeps the special flags of the added tokens
	if mj.ByteFallback {
		m.setBytes()
	}
	for _, s := range []struct {
		dst  *int
		name string
	}{{&m.bos, "<s>"}, {&m.eos, "</s>"}, {&m.pad, "<pad>"}} {
		if id, ok := m.ids[s.name]; ok {
			*s.dst = id
		}
	}
	return m, nil
}

func readNormalizers(c *hfComponent, out []hfNormalizer) ([]hfNormalizer, error) {
	if c == nil {
		return out, nil
	}
	fail := func(format string, a ...any) ([]hfNormalizer, error) {
		return nil, fmt.Errorf("unigram: tokenizer.json: normalizer "+format, a...)
	}
	switch c.Type {
	case "Sequence":
		for i := range c.Normalizers {
			var err error
			if out, err = readNormalizers(&c.Normalizers[i], out); err != nil {
				return nil, err
			}
		}
		return out, nil
	case "Precompiled":
		if c.Charsmap == nil || *c.Charsmap == "" {
			return out, nil
		}
		blob, err := base64.StdEncoding.DecodeString(*c.Charsmap)
		if err != nil {
			return fail("Precompiled: %v", err)
		}
		cm, err := spmodel.ParseCharsmap(blob)
		if err != nil {
			return fail("Precompiled: %v", err)
		}
		return append(out, hfNormalizer{kind: c.Type, cmap: cm}), nil
	case "Replace":
		content, err := c.content()
		if err != nil {
			return fail("%v", err)
		}
		n := hfNormalizer{kind: c.Type, content: content}
		switch {
		case c.Pattern.String != nil:
			n.pattern = *c.Pattern.String
		case c.Pattern.Regex != nil:
			re, err := regexp.Compile(*c.Pattern.Regex)
			if err != nil {
				return fail("Replace: regex %q: %v", *c.Pattern.Regex, err)
			}
			n.re = re
		default:
			return fail("Replace without a pattern")
		}
		return append(out, n), nil
	case "NFC", "NFD", "NFKC", "NFKD":
		form := map[string]norm.Form{"NFC": norm.NFC, "NFD": norm.NFD, "NFKC": norm.NFKC, "NFKD": norm.NFKD}[c.Type]
		return append(out, hfNormalizer{kind: c.Type, form: form}), nil
	case "Lowercase", "StripAccents":
		return append(out, hfNormalizer{kind: c.Type}), nil
	case "Strip":
		n := hfNormalizer{kind: c.Type, left: c.StripLeft == nil || *c.StripLeft, right: c.StripRight == nil || *c.StripRight}
		return append(out, n), nil
	case "Prepend":
		return append(out, hfNormalizer{kind: c.Type, content: c.Prepend}), nil
	}
	return fail("%q is not supported", c.Type)
}

func readPreTokenizers(c *hfComponent, out []hfPreTokenizer) ([]hfPreTokenizer, error) {
	if c == nil {
		return out, nil
	}
	switch c.Type {
	case "Sequence":
		for i := range c.PreTokenizers {
			var err error
			if out, err = readPreTokenizers(&c.PreTokenizers[i], out); err != nil {
				return nil, err
			}
		}
		return out, nil
	case "WhitespaceSplit", "Whitespace":
		return append(out, hfPreTokenizer{kind: c.Type}), nil
	case "Metaspace":
		p := hfPreTokenizer{kind: c.Type, replacement: c.Replacement, split: c.Split == nil || *c.Split}
		if p.replacement == "" {
			p.replacement = metaspace
		}
		var err error
		if p.prepend, err = prependScheme(c); err != nil {
			return nil, err
		}
		return append(out, p), nil
	}
	return nil, fmt.Errorf("unigram: tokenizer.json: pre_tokenizer %q is not supported", c.Type)
}

// prependScheme reads Metaspace's prepend_scheme (or the older
// add_prefix_space).
func prependScheme(c *hfComponent) (bool, error) {
	switch c.PrependScheme {
	case "always", "first":
		return true, nil
	case "never":
		return false, nil
	case "":
		return c.AddPrefixSpace == nil || *c.AddPrefixSpace, nil
	}
	return false, fmt.Errorf("unigram: tokenizer.json: Metaspace prepend_scheme %q is not supported", c.PrependScheme)
}

func readDecoders(c *hfComponent, out []hfDecoder) ([]hfDecoder, error) {
	if c == nil {
		return out, nil
	}
	switch c.Type {
	case "Sequence":
		for i := range c.Decoders {
			var err error
			if out, err = readDecoders(&c.Decoders[i], out); err != nil {
				return nil, err
			}
		}
		return out, nil
	case "Metaspace":
		d := hfDecoder{kind: c.Type, replacement: c.Replacement}
		if d.replacement == "" {
			d.replacement = metaspace
		}
		var err error
		if d.prepend, err = prependScheme(c); err != nil {
			return nil, err
		}
		return append(out, d), nil
	case "Replace":
		content, err := c.content()
		if err != nil {
			return nil, fmt.Errorf("unigram: tokenizer.json: decoder %v", err)
		}
		if c.Pattern.String == nil {
			return nil, fmt.Errorf("unigram: tokenizer.json: decoder Replace needs a string pattern")
		}
		return append(out, hfDecoder{kind: c.Type, pattern: *c.Pattern.String, content: content}), nil
	case "ByteFallback", "Fuse":
		return append(out, hfDecoder{kind: c.Type}), nil
	case "Strip":
		content, err := c.content()
		if err != nil {
			return nil, fmt.Errorf("unigram: tokenizer.json: decoder %v", err)
		}
		if c.Start < 0 || c.Stop < 0 || c.Start > 1<<10 || c.Stop > 1<<10 {
			return nil, fmt.Errorf("unigram: tokenizer.json: decoder Strip start %d / stop %d out of range", c.Start, c.Stop)
		}
		if strings.Count(content, "") != 2 {
			return nil, fmt.Errorf("unigram: tokenizer.json: decoder Strip content %q is not one character", content)
		}
		return append(out, hfDecoder{kind: c.Type, stripChar: content, left: c.Start, right: c.Stop}), nil
	}
	return nil, fmt.Errorf("unigram: tokenizer.json: decoder %q is not supported", c.Type)
}
