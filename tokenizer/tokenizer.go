package tokenizer

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
)

// Config assembles a Tokenizer around a Model.
type Config struct {
	// AddedTokens are matched in the input before the model runs.
	AddedTokens []AddedToken
	// Template lays out special tokens; nil adds none (GPT-2).
	Template *Template
	// Options are the encoding options; the zero value is the default.
	Options Options
}

// Tokenizer encodes text into model inputs and decodes ids back into text:
// added-token matching, the vocabulary Model, truncation, the
// post-processing Template and padding, in Hugging Face's order.
//
// A Tokenizer is immutable and safe for concurrent use; WithOptions returns
// a copy with other options.
type Tokenizer struct {
	model    Model
	added    *addedVocab
	addedIn  []AddedToken
	template *Template
	opts     Options
	bufs     *sync.Pool // *[]Token scratch for encode
}

// New returns a Tokenizer over model. It checks the template and options.
func New(model Model, cfg Config) (*Tokenizer, error) {
	if model == nil {
		return nil, fmt.Errorf("tokenizer: nil model")
	}
	if err := cfg.Template.validate(); err != nil {
		return nil, err
	}
	if err := cfg.Options.validate(cfg.Template); err != nil {
		return nil, err
	}
	for _, a := range cfg.AddedTokens {
		if a.ID < 0 {
			return nil, fmt.Errorf("tokenizer: added token %q has negative id %d", a.Content, a.ID)
		}
	}
	return &Tokenizer{
		model:    model,
		added:    newAddedVocab(cfg.AddedTokens),
		addedIn:  append([]AddedToken(nil), cfg.AddedTokens...),
		template: cfg.Template,
		opts:     cfg.Options,
		bufs:     &sync.Pool{New: func() any { return new([]Token) }},
	}, nil
}

// WithOptions returns a copy of t that encodes with opts.
func (t *Tokenizer) WithOptions(opts Options) (*Tokenizer, error) {
	if err := opts.validate(t.template); err != nil {
		return nil, err
	}
	c := *t
	c.opts = opts
	return &c, nil
}

// Model returns the vocabulary model.
func (t *Tokenizer) Model() Model { return t.model }

// Options returns the encoding options.
func (t *Tokenizer) Options() Options { return t.opts }

// Template returns the post-processing template (nil for none).
func (t *Tokenizer) Template() *Template { return t.template }

// AddedTokens returns a copy of the added tokens.
func (t *Tokenizer) AddedTokens() []AddedToken { return append([]AddedToken(nil), t.addedIn...) }

// VocabSize returns the number of ids, added tokens included.
func (t *Tokenizer) VocabSize() int {
	n := t.model.VocabSize()
	for id := range t.added.byID {
		n = max(n, id+1)
	}
	return n
}

// TokenToID looks up a token (added tokens first, then the model).
func (t *Tokenizer) TokenToID(token string) (int, bool) {
	if id, ok := t.added.byText[token]; ok {
		return id, true
	}
	return t.model.TokenToID(token)
}

// IDToToken looks up an id (added tokens first, then the model).
func (t *Tokenizer) IDToToken(id int) (string, bool) {
	if a, ok := t.added.byID[id]; ok {
		return a.Content, true
	}
	return t.model.IDToToken(id)
}

// IsSpecial reports whether id is a special added token.
func (t *Tokenizer) IsSpecial(id int) bool { return t.added.special[id] }

// Tokenize splits text into tokens (added tokens matched first), with byte
// offsets into text, without template, truncation or padding.
func (t *Tokenizer) Tokenize(text string) []Token {
	return t.appendTokens(nil, text)
}

// checkText runs the model's TextChecker, if it has one, over the parts of
// text that are not added tokens.
func (t *Tokenizer) checkText(text string) error {
	c, ok := t.model.(TextChecker)
	if !ok {
		return nil
	}
	var segs [8]segment
	for _, s := range t.added.split(text, t.opts.SpecialAsText, segs[:0]) {
		if s.id < 0 {
			if err := c.CheckText(text[s.start:s.end]); err != nil {
				return err
			}
		}
	}
	return nil
}

// appendTokens appends the tokens of text to dst.
func (t *Tokenizer) appendTokens(dst []Token, text string) []Token {
	var segs [8]segment
	ss := t.added.split(text, t.opts.SpecialAsText, segs[:0])
	app, canAppend := t.model.(TokenAppender)
	if len(ss) == 1 && ss[0].id < 0 {
		if canAppend {
			return app.AppendTokens(dst, text)
		}
		if dst == nil {
			return t.model.Tokenize(text)
		}
		return append(dst, t.model.Tokenize(text)...)
	}
	for _, s := range ss {
		if s.id >= 0 {
			dst = append(dst, Token{ID: s.id, Text: t.added.byID[s.id].Content, Start: s.start, End: s.end})
			continue
		}
		var toks []Token
		mark := len(dst)
		if canAppend {
			dst = app.AppendTokens(dst, text[s.start:s.end])
			toks = dst[mark:]
		} else {
			toks = t.model.Tokenize(text[s.start:s.end])
			dst = append(dst, toks...)
			toks = dst[mark:]
		}
		for i := range toks {
			toks[i].Start += s.start
			toks[i].End += s.start
		}
	}
	return dst
}

// Encode encodes one text. The error is non-nil only when truncation cannot
// reach its maximum length.
func (t *Tokenizer) Encode(text string) (Encoding, error) {
	e, err := t.encode(text, "", false)
	if err != nil {
		return Encoding{}, err
	}
	t.padOne(&e)
	return e, nil
}

// EncodePair encodes a pair of texts (question and context, two
// sentences). An empty b is still a second sequence, as in Hugging Face
// tokenizers.
func (t *Tokenizer) EncodePair(a, b string) (Encoding, error) {
	e, err := t.encode(a, b, true)
	if err != nil {
		return Encoding{}, err
	}
	t.padOne(&e)
	return e, nil
}

// EncodeBatch encodes texts in parallel on runtime.GOMAXPROCS(0) workers;
// the result is in input order and padded as a batch.
func (t *Tokenizer) EncodeBatch(texts []string) ([]Encoding, error) {
	return t.encodeBatch(texts, nil)
}

// EncodePairBatch encodes the pairs (texts[i], pairs[i]) like EncodeBatch.
func (t *Tokenizer) EncodePairBatch(texts, pairs []string) ([]Encoding, error) {
	if len(texts) != len(pairs) {
		return nil, fmt.Errorf("tokenizer: %d texts but %d pairs", len(texts), len(pairs))
	}
	return t.encodeBatch(texts, pairs)
}

func (t *Tokenizer) encodeBatch(texts, pairs []string) ([]Encoding, error) {
	out := make([]Encoding, len(texts))
	errs := make([]error, len(texts))
	workers := min(runtime.GOMAXPROCS(0), len(texts))
	var next atomic.Int64
	var wg sync.WaitGroup
	const chunk = 16
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				lo := int(next.Add(chunk)) - chunk
				if lo >= len(texts) {
					return
				}
				for i := lo; i < min(lo+chunk, len(texts)); i++ {
					if pairs != nil {
						out[i], errs[i] = t.encode(texts[i], pairs[i], true)
					} else {
						out[i], errs[i] = t.encode(texts[i], "", false)
					}
				}
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("tokenizer: batch item %d: %w", i, err)
		}
	}
	if p := t.opts.Padding; p.Strategy != NoPadding {
		longest := 0
		for i := range out {
			longest = max(longest, out[i].Len())
			for _, o := range out[i].Overflowing {
				longest = max(longest, o.Len())
			}
		}
		n, tok := p.target(longest), t.padToken()
		for i := range out {
			p.pad(&out[i], n, tok)
		}
	}
	return out, nil
}

// padOne pads a single encoding (and its overflowing windows) on its own.
func (t *Tokenizer) padOne(e *Encoding) {
	p := t.opts.Padding
	if p.Strategy == NoPadding {
		return
	}
	longest := e.Len()
	for _, o := range e.Overflowing {
		longest = max(longest, o.Len())
	}
	p.pad(e, p.target(longest), t.padToken())
}

// encode runs everything but padding.
func (t *Tokenizer) encode(a, b string, pair bool) (Encoding, error) {
	if err := t.checkText(a); err != nil {
		return Encoding{}, err
	}
	if pair {
		if err := t.checkText(b); err != nil {
			return Encoding{}, err
		}
	}
	// The token lists are scratch: apply copies them into the Encoding.
	bufA, bufB := t.bufs.Get().(*[]Token), t.bufs.Get().(*[]Token)
	defer func() {
		*bufA, *bufB = (*bufA)[:0], (*bufB)[:0]
		t.bufs.Put(bufA)
		t.bufs.Put(bufB)
	}()
	ta := t.appendTokens((*bufA)[:0], a)
	*bufA = ta
	var tb []Token
	if pair {
		tb = t.appendTokens((*bufB)[:0], b)
		*bufB = tb
	}
	tmpl := t.template
	if t.opts.SkipTemplate {
		tmpl = nil
	}
	tr := t.opts.Truncation
	ka, kb, err := tr.lengths(len(ta), len(tb), pair, tmpl.numSpecial(pair))
	if err != nil {
		return Encoding{}, err
	}
	if !tr.Overflow {
		cut(&ta, ka, tr.Side)
		cut(&tb, kb, tr.Side)
		return tmpl.apply(ta, tb, pair), nil
	}
	wa, err := windows(ta, ka, tr.Stride, tr.Side, tr.Overflow)
	if err != nil {
		return Encoding{}, err
	}
	wb, err := windows(tb, kb, tr.Stride, tr.Side, tr.Overflow)
	if err != nil {
		return Encoding{}, err
	}
	e := tmpl.apply(wa[0], wb[0], pair)
	for i := range wa {
		for j := range wb {
			if i > 0 || j > 0 {
				e.Overflowing = append(e.Overflowing, tmpl.apply(wa[i], wb[j], pair))
			}
		}
	}
	return e, nil
}

func (t *Tokenizer) padToken() string {
	p := t.opts.Padding
	if p.Token != "" {
		return p.Token
	}
	tok, _ := t.IDToToken(p.ID)
	return tok
}

// Decode turns ids back into text. With skipSpecial, special added tokens
// are left out. Ids outside the vocabulary are an error.
func (t *Tokenizer) Decode(ids []int, skipSpecial bool) (string, error) {
	run := make([]int, 0, len(ids))
	var sb strings.Builder
	flush := func() error {
		if len(run) == 0 {
			return nil
		}
		s, err := t.model.Decode(run, skipSpecial)
		if err != nil {
			return err
		}
		sb.WriteString(s)
		run = run[:0]
		return nil
	}
	for _, id := range ids {
		if skipSpecial && t.added.special[id] {
			continue
		}
		if _, ok := t.model.IDToToken(id); ok {
			run = append(run, id)
			continue
		}
		a, ok := t.added.byID[id]
		if !ok {
			return "", fmt.Errorf("tokenizer: decode: id %d outside the vocabulary of %d", id, t.VocabSize())
		}
		if err := flush(); err != nil {
			return "", err
		}
		sb.WriteString(a.Content)
	}
	if err := flush(); err != nil {
		return "", err
	}
	return sb.String(), nil
}

// DecodeTokens turns tokens as written in the vocabulary (Encoding.Tokens,
// IDToToken) back into text, as Hugging Face's convert_tokens_to_string:
// through the model's TokensDecoder when it has one; otherwise runs of
// vocabulary tokens are decoded as their ids, and any other token is kept
// as it is written.
func (t *Tokenizer) DecodeTokens(tokens []string) string {
	if d, ok := t.model.(TokensDecoder); ok {
		return d.DecodeTokens(tokens)
	}
	var sb strings.Builder
	var run []int
	flush := func() {
		if len(run) > 0 {
			s, err := t.Decode(run, false)
			if err == nil {
				sb.WriteString(s)
			}
			run = run[:0]
		}
	}
	for _, tok := range tokens {
		if id, ok := t.TokenToID(tok); ok {
			run = append(run, id)
			continue
		}
		flush()
		sb.WriteString(tok)
	}
	flush()
	return sb.String()
}
