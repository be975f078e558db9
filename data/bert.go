package data

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/glossa-ai/glossa/tokenizer"
)

// IgnoreIndex is the label of positions that carry no loss (PyTorch's
// CrossEntropyLoss ignore_index, Hugging Face's -100).
const IgnoreIndex = -100

// NSP labels, as Hugging Face's next_sentence_label.
const (
	IsNext  = 0 // B follows A in the same document
	NotNext = 1 // B comes from a different document
)

// PretrainExample is one BERT pretraining sequence before masking.
type PretrainExample struct {
	// InputIDs are [CLS] A [SEP] B [SEP] (or [CLS] text [SEP] when packed
	// without NSP).
	InputIDs []int32
	// TokenTypeIDs are 0 for [CLS] A [SEP], 1 for B [SEP].
	TokenTypeIDs []int32
	// NextSentence is IsNext or NotNext, or -1 when the example has no
	// sentence pair.
	NextSentence int32
}

// NSPOptions configure CreateNSPInstances, after Google's
// create_pretraining_data.py.
type NSPOptions struct {
	// MaxSeqLen is the length of a full sequence, [CLS] and two [SEP]
	// included (≥ 5).
	MaxSeqLen int
	// ShortSeqProb is the probability of aiming at a shorter random target
	// length in [2, MaxSeqLen-3], so the model also sees short inputs.
	// Zero means 0.1; a negative value means never.
	ShortSeqProb float64
	// DupeFactor repeats the data with different pairs; zero means 1.
	DupeFactor int
	// CLS and SEP are the ids of [CLS] and [SEP].
	CLS, SEP int32
}

// CreateNSPInstances builds next-sentence-prediction pairs from documents
// of segments (sentences) of ids, following create_pretraining_data.py:
// segments of a document accumulate into a chunk until it reaches the
// target length (MaxSeqLen-3, or with ShortSeqProb a random shorter one);
// A is the first a_end segments of the chunk (a_end uniform in
// [1, len(chunk)-1]); with probability ½ B is the rest of the chunk
// (IsNext), else B is taken from a random position of a different document
// (NotNext) and the unused segments of the chunk go back to be used next.
// The pair is then truncated to MaxSeqLen-3 tokens by removing tokens from
// the longer side, from its front or back with probability ½ each.
//
// One difference to the original: when a chunk is a single segment, the
// original always makes a NotNext pair, which skews the balance towards
// NotNext on short documents; here the IsNext case splits that segment at
// a random token instead, so IsNext and NotNext are each 50 %.
//
// The examples are shuffled; the result depends only on docs, opts and
// seed. Fewer than two non-empty documents is an error (NotNext needs a
// different document).
func CreateNSPInstances(docs [][][]int32, opts NSPOptions, seed uint64) ([]PretrainExample, error) {
	if opts.MaxSeqLen < 5 {
		return nil, fmt.Errorf("data: NSP max sequence length %d must be at least 5", opts.MaxSeqLen)
	}
	if opts.ShortSeqProb == 0 {
		opts.ShortSeqProb = 0.1
	}
	if opts.DupeFactor <= 0 {
		opts.DupeFactor = 1
	}
	var nonEmpty [][][]int32
	for _, d := range docs {
		var segs [][]int32
		for _, s := range d {
			if len(s) > 0 {
				segs = append(segs, s)
			}
		}
		if len(segs) > 0 {
			nonEmpty = append(nonEmpty, segs)
		}
	}
	if len(nonEmpty) < 2 {
		return nil, fmt.Errorf("data: NSP needs at least 2 non-empty documents, have %d (split documents at blank lines or use one file per document)", len(nonEmpty))
	}
	rng := NewRand(seed)
	var out []PretrainExample
	for range opts.DupeFactor {
		for i := range nonEmpty {
			out = nspFromDocument(out, nonEmpty, i, opts, rng)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("data: NSP produced no examples")
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out, nil
}

func nspFromDocument(out []PretrainExample, docs [][][]int32, di int, opts NSPOptions, rng *rand.Rand) []PretrainExample {
	doc := docs[di]
	maxTokens := opts.MaxSeqLen - 3
	target := maxTokens
	if opts.ShortSeqProb > 0 && rng.Float64() < opts.ShortSeqProb {
		target = 2 + rng.IntN(maxTokens-1) // uniform in [2, maxTokens]
	}
	var chunk [][]int32
	chunkLen := 0
	for i := 0; i < len(doc); i++ {
		chunk = append(chunk, doc[i])
		chunkLen += len(doc[i])
		if i != len(doc)-1 && chunkLen < target {
			continue
		}
		var a, b []int32
		notNext := rng.Float64() < 0.5
		if len(chunk) == 1 && !notNext {
			seg := chunk[0]
			if len(seg) < 2 {
				notNext = true
			} else {
				cut := 1 + rng.IntN(len(seg)-1)
				a = append(a, seg[:cut]...)
				b = append(b, seg[cut:]...)
			}
		}
		if a == nil {
			aEnd := 1
			if len(chunk) >= 2 {
				aEnd = 1 + rng.IntN(len(chunk)-1)
			}
			for _, s := range chunk[:aEnd] {
				a = append(a, s...)
			}
			if notNext {
				targetB := max(1, target-len(a))
				other := di
				for range 10 {
					other = rng.IntN(len(docs))
					if other != di {
						break
					}
				}
				if other == di { // give up after 10 tries as the original; pick deterministically
					other = (di + 1 + rng.IntN(len(docs)-1)) % len(docs)
				}
				rd := docs[other]
				for j := rng.IntN(len(rd)); j < len(rd) && len(b) < targetB; j++ {
					b = append(b, rd[j]...)
				}
				i -= len(chunk) - aEnd // put the unused segments back
			} else {
				for _, s := range chunk[aEnd:] {
					b = append(b, s...)
				}
			}
		}
		a, b = truncatePair(a, b, maxTokens, rng)
		if len(a) >= 1 && len(b) >= 1 {
			out = append(out, pairExample(a, b, notNext, opts))
		}
		chunk, chunkLen = chunk[:0], 0
	}
	return out
}

// truncatePair trims a and b to at most maxTokens together, one token at a
// time from the longer side, from the front or the back with probability ½.
func truncatePair(a, b []int32, maxTokens int, rng *rand.Rand) ([]int32, []int32) {
	for len(a)+len(b) > maxTokens {
		longer := &a
		if len(b) > len(a) {
			longer = &b
		}
		if rng.Float64() < 0.5 {
			*longer = (*longer)[1:]
		} else {
			*longer = (*longer)[:len(*longer)-1]
		}
	}
	return a, b
}

func pairExample(a, b []int32, notNext bool, opts NSPOptions) PretrainExample {
	n := len(a) + len(b) + 3
	ids := make([]int32, 0, n)
	types := make([]int32, n)
	ids = append(ids, opts.CLS)
	ids = append(ids, a...)
	ids = append(ids, opts.SEP)
	ids = append(ids, b...)
	ids = append(ids, opts.SEP)
	for i := len(a) + 2; i < n; i++ {
		types[i] = 1
	}
	e := PretrainExample{InputIDs: ids, TokenTypeIDs: types, NextSentence: IsNext}
	if notNext {
		e.NextSentence = NotNext
	}
	return e
}

// PackSentences packs the segments of each document into sequences
// [CLS] s1 s2 … [SEP] of at most maxLen tokens (RoBERTa's "doc-sentences"
// packing for MLM without NSP): segments are added while they fit;
// a segment longer than a whole sequence is cut into pieces. Sequences do
// not cross documents.
func PackSentences(docs [][][]int32, maxLen int, cls, sep int32) ([]PretrainExample, error) {
	if maxLen < 3 {
		return nil, fmt.Errorf("data: packing length %d must be at least 3", maxLen)
	}
	room := maxLen - 2
	var out []PretrainExample
	var cur []int32
	flush := func() {
		if len(cur) == 0 {
			return
		}
		ids := make([]int32, 0, len(cur)+2)
		ids = append(append(append(ids, cls), cur...), sep)
		out = append(out, PretrainExample{InputIDs: ids, TokenTypeIDs: make([]int32, len(ids)), NextSentence: -1})
		cur = cur[:0]
	}
	for _, d := range docs {
		for _, s := range d {
			if len(cur)+len(s) > room {
				flush()
			}
			for len(s) > room {
				cur = append(cur, s[:room]...)
				flush()
				s = s[room:]
			}
			cur = append(cur, s...)
		}
		flush()
	}
	if len(out) == 0 {
		return nil, errors.New("data: nothing to pack (no tokens)")
	}
	return out, nil
}

// MaskOptions configure a Masker (BERT's masked-language-model targets).
type MaskOptions struct {
	// Prob is the fraction of non-special tokens chosen for prediction;
	// zero means 0.15.
	Prob float64
	// MaxPredictions caps the chosen tokens per sequence; zero means no
	// cap.
	MaxPredictions int
	// WholeWord chooses whole words: a token marked in Continuation (a
	// WordPiece "##" piece) is chosen together with the word it continues.
	WholeWord bool
	// MaskID is the id of [MASK].
	MaskID int32
	// VocabSize bounds the random replacement ids.
	VocabSize int
	// Special marks ids never chosen nor used as random replacements
	// ([CLS], [SEP], [PAD], ...); indexed by id, may be shorter than the
	// vocabulary.
	Special []bool
	// Continuation marks word-continuation ids for WholeWord, indexed by
	// id (see ContinuationIDs).
	Continuation []bool
}

// Masker chooses masked-LM targets as BERT does: round(Prob·n) of the n
// non-special tokens of a sequence (at least one, at most MaxPredictions)
// are chosen in random order (whole words together with WholeWord); each
// chosen token becomes [MASK] with probability 0.8, a random non-special
// id with 0.1, and stays unchanged with 0.1. Labels hold the original id
// at chosen positions and IgnoreIndex elsewhere. A Masker is immutable;
// randomness comes from the caller's generator.
type Masker struct {
	opts MaskOptions
}

// NewMasker checks opts and returns a Masker.
func NewMasker(opts MaskOptions) (*Masker, error) {
	if opts.Prob == 0 {
		opts.Prob = 0.15
	}
	if !(opts.Prob > 0 && opts.Prob < 1) {
		return nil, fmt.Errorf("data: mask probability %v must be in (0, 1)", opts.Prob)
	}
	if opts.VocabSize <= 0 || opts.MaskID < 0 || int(opts.MaskID) >= opts.VocabSize {
		return nil, fmt.Errorf("data: mask id %d outside vocabulary of %d", opts.MaskID, opts.VocabSize)
	}
	n := 0
	for id := range opts.VocabSize {
		if !isMarked(opts.Special, int32(id)) {
			n++
		}
	}
	if n == 0 {
		return nil, errors.New("data: every vocabulary id is special; nothing to mask")
	}
	return &Masker{opts: opts}, nil
}

func isMarked(tab []bool, id int32) bool { return id >= 0 && int(id) < len(tab) && tab[id] }

// Mask writes the masked version of ids into inputs and the targets into
// labels (both len(ids)) and returns the number of chosen tokens.
func (m *Masker) Mask(rng *rand.Rand, ids, inputs, labels []int32) int {
	copy(inputs, ids)
	for i := range labels[:len(ids)] {
		labels[i] = IgnoreIndex
	}
	// Candidate groups: word starts with their continuations.
	type group struct{ lo, hi int }
	var groups []group
	nCand := 0
	for i, id := range ids {
		if isMarked(m.opts.Special, id) {
			continue
		}
		nCand++
		if m.opts.WholeWord && len(groups) > 0 && groups[len(groups)-1].hi == i && isMarked(m.opts.Continuation, id) {
			groups[len(groups)-1].hi = i + 1
			continue
		}
		groups = append(groups, group{i, i + 1})
	}
	if nCand == 0 {
		return 0
	}
	want := max(1, int(math.Round(float64(nCand)*m.opts.Prob)))
	if m.opts.MaxPredictions > 0 {
		want = min(want, m.opts.MaxPredictions)
	}
	rng.Shuffle(len(groups), func(i, j int) { groups[i], groups[j] = groups[j], groups[i] })
	chosen := 0
	for _, g := range groups {
		if chosen >= want {
			break
		}
		if chosen+(g.hi-g.lo) > want {
			continue
		}
		for i := g.lo; i < g.hi; i++ {
			labels[i] = ids[i]
			switch r := rng.Float64(); {
			case r < 0.8:
				inputs[i] = m.opts.MaskID
			case r < 0.9:
				inputs[i] = m.randomID(rng)
			}
			chosen++
		}
	}
	return chosen
}

func (m *Masker) randomID(rng *rand.Rand) int32 {
	for {
		id := int32(rng.IntN(m.opts.VocabSize))
		if !isMarked(m.opts.Special, id) {
			return id
		}
	}
}

// MLMBatch is a padded batch of masked pretraining examples, row-major
// [B, T] int32 arrays.
type MLMBatch struct {
	B, T          int     // batch size and padded sequence length
	InputIDs      []int32 // masked inputs, PadID after each sequence
	TokenTypeIDs  []int32 // segment ids: 0 for sentence A, 1 for sentence B
	AttentionMask []int32 // 1 for tokens, 0 for padding
	Labels        []int32 // original ids at chosen positions, IgnoreIndex elsewhere
	NextSentence  []int32 // [B] IsNext/NotNext, or -1 for unpaired examples
	Masked        int     // chosen tokens in the batch
}

// Collate masks examples and pads them to the longest (or to padTo when
// larger) into one batch.
func (m *Masker) Collate(rng *rand.Rand, examples []PretrainExample, padID int32, padTo int) MLMBatch {
	T := padTo
	for _, e := range examples {
		T = max(T, len(e.InputIDs))
	}
	B := len(examples)
	b := MLMBatch{B: B, T: T,
		InputIDs: make([]int32, B*T), TokenTypeIDs: make([]int32, B*T), AttentionMask: make([]int32, B*T),
		Labels: make([]int32, B*T), NextSentence: make([]int32, B)}
	for i, e := range examples {
		row := i * T
		n := len(e.InputIDs)
		b.Masked += m.Mask(rng, e.InputIDs, b.InputIDs[row:row+n], b.Labels[row:row+n])
		copy(b.TokenTypeIDs[row:], e.TokenTypeIDs)
		for j := range T {
			if j < n {
				b.AttentionMask[row+j] = 1
			} else {
				b.InputIDs[row+j] = padID
				b.Labels[row+j] = IgnoreIndex
			}
		}
		b.NextSentence[i] = e.NextSentence
	}
	return b
}

// SpecialIDs marks the special added tokens of tok (IsSpecial), indexed by
// id, for MaskOptions.Special.
func SpecialIDs(tok *tokenizer.Tokenizer) []bool {
	out := make([]bool, tok.VocabSize())
	for id := range out {
		out[id] = tok.IsSpecial(id)
	}
	return out
}

// ContinuationIDs marks the ids whose token starts with prefix ("##" for
// WordPiece), indexed by id, for MaskOptions.Continuation.
func ContinuationIDs(tok *tokenizer.Tokenizer, prefix string) []bool {
	out := make([]bool, tok.VocabSize())
	for id := range out {
		if s, ok := tok.IDToToken(id); ok && strings.HasPrefix(s, prefix) && len(s) > len(prefix) {
			out[id] = true
		}
	}
	return out
}
