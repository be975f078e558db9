package pipeline

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"strings"

	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/tokenizer"
	"github.com/glossa-ai/glossa/tokenizer/wordpiece"
)

// TokenClassification is Hugging Face's token-classification pipeline
// (also called ner): a label per token from a token classifier
// (BertForTokenClassification, …), grouped into entities as
// Python's transformers does, with character offsets into the text. It is
// safe for concurrent use.
type TokenClassification struct {
	m *model
	// wordAware says the tokenizer marks word-continuing pieces (WordPiece's
	// "##"), so a subword is a token whose text differs in length from what
	// it covers; otherwise one is a token not preceded by a space.
	wordAware bool
}

// Aggregation is how token-classification results are grouped.
type Aggregation int

// The aggregation strategies of Hugging Face's pipeline.
const (
	// AggregateNone returns every token with its best label.
	AggregateNone Aggregation = iota
	// AggregateSimple groups consecutive tokens whose labels continue one
	// entity (B-X then I-X …), as the BIO scheme says.
	AggregateSimple
	// AggregateFirst labels each word by its first token, then groups as
	// simple.
	AggregateFirst
	// AggregateAverage labels each word by its tokens' mean scores.
	AggregateAverage
	// AggregateMax labels each word by its most confident token.
	AggregateMax
)

var aggregationNames = []string{"none", "simple", "first", "average", "max"}

// String returns Hugging Face's name of a.
func (a Aggregation) String() string { return enumName(aggregationNames, a, "Aggregation") }

// MarshalText writes Hugging Face's name of a.
func (a Aggregation) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText parses "none", "simple", "first", "average" or "max".
func (a *Aggregation) UnmarshalText(b []byte) error {
	return parseEnum(a, aggregationNames, b, "aggregation_strategy", "none, simple, first, average or max")
}

// TokenClassificationOptions are the token-classification pipeline's call
// options. The zero value (or nil) returns every token whose label is not
// "O".
type TokenClassificationOptions struct {
	// AggregationStrategy groups tokens into words and entities. Zero:
	// AggregateNone.
	AggregationStrategy Aggregation `json:"aggregation_strategy"`
	// IgnoreLabels are the labels left out of the result. Nil: ["O"];
	// empty (JSON []): none.
	IgnoreLabels []string `json:"ignore_labels"`
	// Stride, when positive, runs a text longer than the model as
	// overlapping windows that share Stride tokens, and merges the
	// entities found in the overlaps (it needs an aggregation). Zero:
	// such a text is truncated to the model's length.
	Stride int `json:"stride"`
}

// Entity is one labelled token (AggregateNone) or one group of tokens.
// Start and End are character offsets into the text (Python's str
// indices, code points): Text[Start:End] is what it covers.
type Entity struct {
	// Entity is the token's label (AggregateNone only).
	Entity string
	// EntityGroup is the group's label without its B-/I- prefix (the
	// aggregations).
	EntityGroup string
	Score       float64 // the label's probability; a group's mean
	Index       int     // the token's position in the encoding, [CLS] = 0 (AggregateNone only)
	Word        string  // the token as written in the vocabulary, or the group's text
	Start, End  int
}

// MarshalJSON writes the fields Hugging Face returns: entity, score,
// index, word, start, end for a token; entity_group, score, word, start,
// end for a group.
func (e Entity) MarshalJSON() ([]byte, error) {
	if e.EntityGroup != "" {
		return json.Marshal(struct {
			EntityGroup string  `json:"entity_group"`
			Score       float64 `json:"score"`
			Word        string  `json:"word"`
			Start       int     `json:"start"`
			End         int     `json:"end"`
		}{e.EntityGroup, e.Score, e.Word, e.Start, e.End})
	}
	return json.Marshal(struct {
		Entity string  `json:"entity"`
		Score  float64 `json:"score"`
		Index  int     `json:"index"`
		Word   string  `json:"word"`
		Start  int     `json:"start"`
		End    int     `json:"end"`
	}{e.Entity, e.Score, e.Index, e.Word, e.Start, e.End})
}

// LoadTokenClassification loads the token-classification pipeline of a
// token classifier (see Load).
func LoadTokenClassification(ctx context.Context, modelRef string, opts *Options) (*TokenClassification, error) {
	m, err := loadModel(ctx, TokenClassificationTask, modelRef, opts, bert.HeadTokenClassifier)
	if err != nil {
		return nil, err
	}
	return newTokenClassification(m), nil
}

// newTokenClassification is the token-classification pipeline over a
// loaded token classifier.
func newTokenClassification(m *model) *TokenClassification {
	_, wp := m.tok.Model().(*wordpiece.Model)
	return &TokenClassification{m: m, wordAware: wp}
}

// Task reports TokenClassificationTask.
func (p *TokenClassification) Task() Task { return TokenClassificationTask }

// Labels returns the model's labels in id order.
func (p *TokenClassification) Labels() []string { return labelNames(p.m.enc.Config) }

// preEntity is a token of the text with its label scores: Python's
// gather_pre_entities.
type preEntity struct {
	word       string
	scores     []float64
	start, end int
	index      int
	subword    bool
}

// Run labels the tokens of every text and returns, per text, its entities
// as opts asks. Texts run in batched forward passes.
func (p *TokenClassification) Run(ctx context.Context, texts []string, opts *TokenClassificationOptions) ([][]Entity, error) {
	if opts == nil {
		opts = &TokenClassificationOptions{}
	}
	if len(texts) == 0 {
		return nil, inputErr("no inputs")
	}
	if opts.AggregationStrategy < AggregateNone || opts.AggregationStrategy > AggregateMax {
		return nil, inputErr("aggregation strategy %d", int(opts.AggregationStrategy))
	}
	m := p.m
	tok := m.trunc
	if opts.Stride != 0 {
		switch {
		case opts.Stride < 0:
			return nil, inputErr("stride %d < 0", opts.Stride)
		case opts.AggregationStrategy == AggregateNone:
			return nil, inputErr(`stride was given to process the whole text, but aggregation_strategy "none" cannot merge the windows' tokens; use "simple", "first", "average" or "max"`)
		case opts.Stride >= m.maxLen-2:
			return nil, inputErr("stride %d must be less than the model's %d tokens less its special tokens", opts.Stride, m.maxLen)
		}
		var err error
		tok, err = m.tok.WithOptions(tokenizer.Options{Truncation: tokenizer.Truncation{MaxLength: m.maxLen, Overflow: true, Stride: opts.Stride}})
		if err != nil {
			return nil, inputErr("%v", err)
		}
	}
	encs0, err := tok.EncodeBatch(texts)
	if err != nil {
		return nil, inputErr("%v", err)
	}
	// Every window of every text is one sequence of the passes.
	var encs []*tokenizer.Encoding
	var owner []int
	for i := range encs0 {
		encs, owner = append(encs, &encs0[i]), append(owner, i)
		for k := range encs0[i].Overflowing {
			encs, owner = append(encs, &encs0[i].Overflowing[k]), append(owner, i)
		}
	}
	ignore := opts.IgnoreLabels
	if ignore == nil {
		ignore = []string{"O"}
	}
	cfg := m.enc.Config
	L := cfg.Labels()
	found := make([][]Entity, len(texts))
	windows := make([]int, len(texts))
	runes := make([][]rune, len(texts))
	next := 0
	err = m.batches(ctx, encs, func(ws *bert.Workspace, in bert.Input, batch []*tokenizer.Encoding) error {
		logits, err := m.enc.ClassifyTokens(ws, in)
		if err != nil {
			return err
		}
		for b, e := range batch {
			i := owner[next]
			next++
			windows[i]++
			if runes[i] == nil {
				runes[i] = []rune(texts[i])
			}
			pre := p.preEntities(e, logits[b*in.T*L:], L, texts[i], runes[i])
			for _, ent := range p.aggregate(pre, opts.AggregationStrategy) {
				if !slices.Contains(ignore, ent.Entity) && !slices.Contains(ignore, ent.EntityGroup) {
					found[i] = append(found[i], ent)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range found {
		if windows[i] > 1 {
			found[i] = mergeOverlapping(found[i])
		}
		if found[i] == nil {
			found[i] = []Entity{}
		}
	}
	return found, nil
}

// preEntities returns the non-special tokens of e with the softmax of
// their logits (rows of L in logits): Python's gather_pre_entities.
func (p *TokenClassification) preEntities(e *tokenizer.Encoding, logits []float32, L int, text string, runes []rune) []preEntity {
	tok := p.m.tok
	offs := e.CharOffsets(text)
	var pre []preEntity
	for t, id := range e.IDs {
		if e.SpecialTokensMask[t] == 1 {
			continue
		}
		word, _ := tok.IDToToken(id)
		s, end := offs[t][0], offs[t][1]
		ref := string(runes[s:end])
		var sub bool
		if p.wordAware {
			sub = len([]rune(word)) != end-s
		} else {
			sub = s > 0 && !strings.ContainsRune(string(runes[s-1:min(s+1, len(runes))]), ' ')
		}
		if id == p.m.special.unk {
			word, sub = ref, false
		}
		scores := make([]float64, L)
		softmax64(scores, logits[t*L:(t+1)*L])
		pre = append(pre, preEntity{word: word, scores: scores, start: s, end: end, index: t, subword: sub})
	}
	return pre
}

// aggregate labels tokens or words and groups them (Python's aggregate).
func (p *TokenClassification) aggregate(pre []preEntity, a Aggregation) []Entity {
	cfg := p.m.enc.Config
	var ents []Entity
	switch a {
	case AggregateNone, AggregateSimple:
		for _, pe := range pre {
			k := argmax(pe.scores)
			ents = append(ents, Entity{Entity: cfg.LabelName(k), Score: pe.scores[k], Index: pe.index, Word: pe.word, Start: pe.start, End: pe.end})
		}
	default:
		for lo := 0; lo < len(pre); {
			hi := lo + 1
			for hi < len(pre) && pre[hi].subword {
				hi++
			}
			ents = append(ents, p.aggregateWord(pre[lo:hi], a))
			lo = hi
		}
	}
	if a == AggregateNone {
		return ents
	}
	return p.group(ents)
}

// aggregateWord labels one word from its tokens.
func (p *TokenClassification) aggregateWord(toks []preEntity, a Aggregation) Entity {
	words := make([]string, len(toks))
	for i, t := range toks {
		words[i] = t.word
	}
	var scores []float64
	switch a {
	case AggregateFirst:
		scores = toks[0].scores
	case AggregateMax:
		best, hi := 0, math.Inf(-1)
		for i, t := range toks {
			if v := t.scores[argmax(t.scores)]; v > hi {
				best, hi = i, v
			}
		}
		scores = toks[best].scores
	default: // the mean over the tokens
		scores = make([]float64, len(toks[0].scores))
		for _, t := range toks {
			for c, v := range t.scores {
				scores[c] += v
			}
		}
		for c := range scores {
			scores[c] /= float64(len(toks))
		}
	}
	k := argmax(scores)
	return Entity{Entity: p.m.enc.Config.LabelName(k), Score: scores[k], Word: p.m.tok.DecodeTokens(words),
		Start: toks[0].start, End: toks[len(toks)-1].end}
}

// tag splits a label into its BIO prefix and its type: "B-PER" is (B,
// PER); a label without a prefix continues its type (I).
func tag(label string) (bi byte, typ string) {
	if rest, ok := strings.CutPrefix(label, "B-"); ok {
		return 'B', rest
	}
	if rest, ok := strings.CutPrefix(label, "I-"); ok {
		return 'I', rest
	}
	return 'I', label
}

// group merges consecutive entities of one type that do not begin a new
// entity (Python's group_entities): a group's label is its first token's
// without the prefix, its score the mean, its word the tokens decoded
// together.
func (p *TokenClassification) group(ents []Entity) []Entity {
	var out []Entity
	flush := func(g []Entity) {
		if len(g) == 0 {
			return
		}
		typ := g[0].Entity // the label after its first "-", as Python's split("-", 1)[-1]
		if _, rest, ok := strings.Cut(typ, "-"); ok {
			typ = rest
		}
		words := make([]string, len(g))
		sum := 0.0
		for i, e := range g {
			words[i] = e.Word
			sum += e.Score
		}
		out = append(out, Entity{EntityGroup: typ, Score: sum / float64(len(g)), Word: p.m.tok.DecodeTokens(words),
			Start: g[0].Start, End: g[len(g)-1].End})
	}
	var cur []Entity
	for _, e := range ents {
		if len(cur) > 0 {
			bi, typ := tag(e.Entity)
			_, last := tag(cur[len(cur)-1].Entity)
			if typ != last || bi == 'B' {
				flush(cur)
				cur = cur[:0:0]
			}
		}
		cur = append(cur, e)
	}
	flush(cur)
	return out
}

// mergeOverlapping keeps, of the entities of overlapping windows that
// overlap each other, the longest (then the most confident): Python's
// aggregate_overlapping_entities.
func mergeOverlapping(ents []Entity) []Entity {
	if len(ents) == 0 {
		return ents
	}
	slices.SortStableFunc(ents, func(a, b Entity) int { return a.Start - b.Start })
	var out []Entity
	prev := ents[0]
	for _, e := range ents[1:] {
		if prev.Start <= e.Start && e.Start < prev.End {
			if n, pn := e.End-e.Start, prev.End-prev.Start; n > pn || n == pn && e.Score > prev.Score {
				prev = e
			}
			continue
		}
		out = append(out, prev)
		prev = e
	}
	return append(out, prev)
}

func argmax(x []float64) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// CallJSON runs token-classification calls: {"inputs": TEXT or [TEXT, …],
// "aggregation_strategy": "none"|"simple"|"first"|"average"|"max",
// "ignore_labels": [LABEL, …], "stride": N}. Each gives the list of
// entities of its text, or a list of those lists.
func (p *TokenClassification) CallJSON(ctx context.Context, calls ...json.RawMessage) []Result {
	return callJSON(ctx, jsonTask[string, TokenClassificationOptions, []Entity]{
		args: textArgs, run: p.Run,
		shape: func(outs [][]Entity, single bool, _ *TokenClassificationOptions) any { return one(outs, single) },
	}, calls)
}
