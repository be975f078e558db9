package sentencepiece

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
)

// maxFileSize bounds the files the loaders read (1 GiB).
const maxFileSize = 1 << 30

// LoadLlama2C loads a llama2.c tokenizer.bin (see ParseLlama2C).
func LoadLlama2C(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sentencepiece: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("sentencepiece: read %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("sentencepiece: %s is larger than %d bytes", path, maxFileSize)
	}
	m, err := ParseLlama2C(data)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return m, nil
}

// ParseLlama2C parses llama2.c's tokenizer.bin: a little-endian int32
// max_token_length, then for every piece a float32 score, an int32 byte
// length and the piece's bytes (spaces written as ' ', not '▁'). The file
// does not store the vocabulary size; every piece up to the end of the data
// is read. Ids 0, 1, 2 are <unk>, <s>, </s> and ids 3..258 the byte pieces
// <0x00>..<0xFF>, which llama2.c's byte fallback (id = byte + 3) assumes.
func ParseLlama2C(data []byte) (*Model, error) {
	if len(data) < 4 {
		return nil, fmt.Errorf("sentencepiece: tokenizer.bin: %d bytes, too short for the header", len(data))
	}
	maxLen := int32(binary.LittleEndian.Uint32(data))
	if maxLen < 0 {
		return nil, fmt.Errorf("sentencepiece: tokenizer.bin: negative max_token_length %d", maxLen)
	}
	m := &Model{kind: flavourLlama2C, unk: UnknownID, bos: BOSID, eos: EOSID}
	for off := 4; off < len(data); {
		if len(data)-off < 8 {
			return nil, fmt.Errorf("sentencepiece: tokenizer.bin: piece %d: truncated header at byte %d", len(m.pieces), off)
		}
		score := math.Float32frombits(binary.LittleEndian.Uint32(data[off:]))
		n := int32(binary.LittleEndian.Uint32(data[off+4:]))
		off += 8
		if n < 0 || int(n) > len(data)-off {
			return nil, fmt.Errorf("sentencepiece: tokenizer.bin: piece %d: length %d at byte %d exceeds the file", len(m.pieces), n, off-4)
		}
		if n > maxLen {
			return nil, fmt.Errorf("sentencepiece: tokenizer.bin: piece %d: length %d exceeds max_token_length %d", len(m.pieces), n, maxLen)
		}
		if math.IsNaN(float64(score)) {
			return nil, fmt.Errorf("sentencepiece: tokenizer.bin: piece %d: score is NaN", len(m.pieces))
		}
		m.pieces = append(m.pieces, string(data[off:off+int(n)]))
		m.scores = append(m.scores, score)
		off += int(n)
	}
	if len(m.pieces) < 3+256 {
		return nil, fmt.Errorf("sentencepiece: tokenizer.bin: %d pieces; llama2.c needs at least 259 (<unk>, <s>, </s>, 256 bytes)", len(m.pieces))
	}
	m.special = make([]bool, len(m.pieces))
	m.special[UnknownID], m.special[BOSID], m.special[EOSID] = true, true, true
	m.index()
	for b := range m.byteIDs {
		m.byteIDs[b] = int32(b + 3) // run.c's byte fallback
	}
	m.scorePairs()
	return m, nil
}

// hfTokenizer is the part of tokenizer.json this package reads.
type hfTokenizer struct {
	AddedTokens []struct {
		ID      int    `json:"id"`
		Content string `json:"content"`
		Special bool   `json:"special"`
	} `json:"added_tokens"`
	Normalizer   *hfComponent `json:"normalizer"`
	PreTokenizer *hfComponent `json:"pre_tokenizer"`
	Model        struct {
		Type         string          `json:"type"`
		Vocab        map[string]int  `json:"vocab"`
		Merges       json.RawMessage `json:"merges"`
		UnkToken     *string         `json:"unk_token"`
		ByteFallback bool            `json:"byte_fallback"`
		FuseUnk      bool            `json:"fuse_unk"`
		IgnoreMerges bool            `json:"ignore_merges"`
	} `json:"model"`
}

// hfComponent is a normalizer or pre-tokenizer entry.
type hfComponent struct {
	Type           string                   `json:"type"`
	Normalizers    []hfComponent            `json:"normalizers"`
	PreTokenizers  []hfComponent            `json:"pretokenizers"`
	Prepend        string                   `json:"prepend"`
	Content        string                   `json:"content"`
	Pattern        struct{ String *string } `json:"pattern"`
	Replacement    string                   `json:"replacement"`
	PrependScheme  string                   `json:"prepend_scheme"`
	AddPrefixSpace *bool                    `json:"add_prefix_space"`
	Split          *bool                    `json:"split"`
}

// maxIDGap bounds how far ids may run past the number of pieces.
const maxIDGap = 1 << 16

// FromTokenizerJSON builds a model from a Hugging Face tokenizer.json of the
// Llama / SentencePiece kind: a BPE model with "▁" for spaces, usually
// byte_fallback, and either the normalizers Prepend("▁") + Replace(" ", "▁")
// or a Metaspace pre-tokenizer. Only the model, normalizer and pre-tokenizer
// are read (plus added_tokens for their ids and special flags); special-token
// splitting and the BOS template belong to the tokenizer pipeline.
//
// Metaspace's prepend_scheme "first" is treated as "always": the model sees
// one text segment at a time and cannot tell whether it starts the input.
func FromTokenizerJSON(data []byte) (*Model, error) {
	var tj hfTokenizer
	if err := json.Unmarshal(data, &tj); err != nil {
		return nil, fmt.Errorf("sentencepiece: tokenizer.json: %w", err)
	}
	mj := &tj.Model
	if mj.Type != "BPE" {
		return nil, fmt.Errorf("sentencepiece: tokenizer.json: model type %q, want BPE", mj.Type)
	}
	if mj.IgnoreMerges {
		return nil, fmt.Errorf("sentencepiece: tokenizer.json: ignore_merges is not supported")
	}
	m := &Model{kind: flavourHF, unk: -1, bos: -1, eos: -1, fuseUnk: mj.FuseUnk}
	replaced := false
	if err := m.readNormalizer(tj.Normalizer, &replaced); err != nil {
		return nil, err
	}
	if err := m.readPreTokenizer(tj.PreTokenizer, &replaced); err != nil {
		return nil, err
	}
	if !replaced {
		return nil, fmt.Errorf("sentencepiece: tokenizer.json: neither a Replace(\" \", \"▁\") normalizer nor a Metaspace pre-tokenizer; not a SentencePiece-style BPE")
	}
	n := len(mj.Vocab) + len(tj.AddedTokens)
	size := 0
	for p, id := range mj.Vocab {
		if id < 0 || id >= n+maxIDGap {
			return nil, fmt.Errorf("sentencepiece: tokenizer.json: piece %q has id %d, outside [0, %d)", p, id, n+maxIDGap)
		}
		size = max(size, id+1)
	}
	for _, at := range tj.AddedTokens {
		if at.ID < 0 || at.ID >= n+maxIDGap {
			return nil, fmt.Errorf("sentencepiece: tokenizer.json: added token %q has id %d, outside [0, %d)", at.Content, at.ID, n+maxIDGap)
		}
		size = max(size, at.ID+1)
	}
	if size == 0 {
		return nil, fmt.Errorf("sentencepiece: tokenizer.json: empty vocabulary")
	}
	m.pieces = make([]string, size)
	have := make([]bool, size)
	for p, id := range mj.Vocab {
		if have[id] {
			return nil, fmt.Errorf("sentencepiece: tokenizer.json: id %d is given to both %q and %q", id, m.pieces[id], p)
		}
		m.pieces[id], have[id] = p, true
	}
	m.special = make([]bool, size)
	for _, at := range tj.AddedTokens {
		if have[at.ID] && m.pieces[at.ID] != at.Content {
			return nil, fmt.Errorf("sentencepiece: tokenizer.json: added token %q has id %d, already %q", at.Content, at.ID, m.pieces[at.ID])
		}
		m.pieces[at.ID], have[at.ID] = at.Content, true
		m.special[at.ID] = at.Special
	}
	for id, ok := range have {
		if !ok {
			return nil, fmt.Errorf("sentencepiece: tokenizer.json: no piece has id %d (ids must be dense)", id)
		}
	}
	m.index()
	if id, ok := m.ids["<s>"]; ok {
		m.bos = id
	}
	if id, ok := m.ids["</s>"]; ok {
		m.eos = id
	}
	if !mj.ByteFallback {
		for b := range m.byteIDs {
			m.byteIDs[b] = -1
		}
	}
	if mj.UnkToken != nil {
		id, ok := m.ids[*mj.UnkToken]
		if !ok {
			return nil, fmt.Errorf("sentencepiece: tokenizer.json: unk_token %q is not in the vocabulary", *mj.UnkToken)
		}
		m.unk = int32(id)
	}
	merges, err := parseMerges(mj.Merges)
	if err != nil {
		return nil, err
	}
	m.pairs = make(map[[2]int32]pairMerge, len(merges))
	for rank, mg := range merges {
		a, okA := mj.Vocab[mg[0]]
		b, okB := mj.Vocab[mg[1]]
		c, okC := mj.Vocab[mg[0]+mg[1]]
		if !okA || !okB || !okC {
			return nil, fmt.Errorf("sentencepiece: tokenizer.json: merge %d %q: a token or the merged token is not in the vocabulary", rank, mg[0]+" "+mg[1])
		}
		key := [2]int32{int32(a), int32(b)}
		if _, dup := m.pairs[key]; !dup {
			m.pairs[key] = pairMerge{prio: float64(rank), id: int32(c)}
		}
		if m.isByte[a] || m.isByte[b] {
			m.byteAlone = false
		}
	}
	return m, nil
}

// readNormalizer accepts nothing, Prepend("▁"), Replace(" ", "▁") and
// Sequences of them.
func (m *Model) readNormalizer(c *hfComponent, replaced *bool) error {
	if c == nil {
		return nil
	}
	switch c.Type {
	case "Sequence":
		for i := range c.Normalizers {
			if err := m.readNormalizer(&c.Normalizers[i], replaced); err != nil {
				return err
			}
		}
		return nil
	case "Prepend":
		if c.Prepend != metaspace {
			return fmt.Errorf("sentencepiece: tokenizer.json: Prepend normalizer with %q is not supported (want %q)", c.Prepend, metaspace)
		}
		m.prefix = true
		return nil
	case "Replace":
		if c.Pattern.String == nil || *c.Pattern.String != " " || c.Content != metaspace {
			return fmt.Errorf("sentencepiece: tokenizer.json: only the Replace(\" \", %q) normalizer is supported", metaspace)
		}
		*replaced = true
		return nil
	}
	return fmt.Errorf("sentencepiece: tokenizer.json: normalizer %q is not supported", c.Type)
}

// readPreTokenizer accepts nothing or Metaspace("▁").
func (m *Model) readPreTokenizer(c *hfComponent, replaced *bool) error {
	if c == nil {
		return nil
	}
	switch c.Type {
	case "Sequence":
		for i := range c.PreTokenizers {
			if err := m.readPreTokenizer(&c.PreTokenizers[i], replaced); err != nil {
				return err
			}
		}
		return nil
	case "Metaspace":
		if c.Replacement != "" && c.Replacement != metaspace {
			return fmt.Errorf("sentencepiece: tokenizer.json: Metaspace replacement %q is not supported", c.Replacement)
		}
		*replaced = true
		switch c.PrependScheme {
		case "always", "first":
			m.prefix = true
		case "never":
		case "":
			m.prefix = c.AddPrefixSpace == nil || *c.AddPrefixSpace
		default:
			return fmt.Errorf("sentencepiece: tokenizer.json: Metaspace prepend_scheme %q is not supported", c.PrependScheme)
		}
		m.split = c.Split == nil || *c.Split
		return nil
	}
	return fmt.Errorf("sentencepiece: tokenizer.json: pre_tokenizer %q is not supported", c.Type)
}

// parseMerges accepts ["a b", ...] and [["a", "b"], ...].
func parseMerges(raw json.RawMessage) ([][2]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var asStrings []string
	if err := json.Unmarshal(raw, &asStrings); err == nil {
		out := make([][2]string, len(asStrings))
		for i, s := range asStrings {
			a, b, ok := strings.Cut(s, " ")
			if !ok || strings.Contains(b, " ") {
				return nil, fmt.Errorf("sentencepiece: tokenizer.json: merge %d %q is not two pieces separated by a space", i, s)
			}
			out[i] = [2]string{a, b}
		}
		return out, nil
	}
	var asPairs [][]string
	if err := json.Unmarshal(raw, &asPairs); err != nil {
		return nil, fmt.Errorf("sentencepiece: tokenizer.json: merges are neither strings nor pairs: %w", err)
	}
	out := make([][2]string, len(asPairs))
	for i, p := range asPairs {
		if len(p) != 2 {
			return nil, fmt.Errorf("sentencepiece: tokenizer.json: merge %d has %d parts, want 2", i, len(p))
		}
		out[i] = [2]string{p[0], p[1]}
	}
	return out, nil
}
