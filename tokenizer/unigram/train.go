package unigram

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/glossa-ai/glossa/tokenizer/internal/corpus"
	"io"
	"math"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/glossa-ai/glossa/tokenizer/internal/spmodel"
)

// Normalization chooses the text normalization of a trained model.
type Normalization uint8

const (
	// NFKC is sentencepiece's default, nmt_nfkc: Unicode NFKC plus the NMT
	// rules (control characters removed, other whitespace made a space),
	// compiled into a precompiled charsmap stored in the model.
	NFKC Normalization = iota
	// Identity leaves characters as they are.
	Identity
)

// TrainOptions configure Train. VocabSize must be set; every other zero
// value is sentencepiece's default.
type TrainOptions struct {
	// VocabSize is the number of pieces of the model, special, user-defined
	// and byte pieces included.
	VocabSize int
	// SpecialTokens are the first pieces, in order: UnkToken is the
	// unknown piece, the others control pieces. Zero: <unk> <s> </s>. The
	// unknown piece is put first if missing.
	SpecialTokens []string
	// UnkToken names the unknown piece. Zero: "<unk>".
	UnkToken string
	// UserDefined pieces follow the special ones; they are matched whole
	// in the raw text.
	UserDefined []string
	// ByteFallback adds the 256 byte pieces <0x00>..<0xFF> after those, so
	// that no character is unknown.
	ByteFallback bool
	// Normalization is the model's normalizer. Zero: NFKC (nmt_nfkc).
	Normalization Normalization
	// MaxPieceLength bounds a piece, in characters. Zero: 16.
	MaxPieceLength int
	// SeedSize is the number of substrings EM starts from. Zero: 1,000,000.
	SeedSize int
	// ShrinkingFactor is the share of pieces each pruning keeps. Zero: 0.75.
	ShrinkingFactor float64
	// SubIterations is the number of EM iterations between prunings.
	// Zero: 2.
	SubIterations int
	// MaxSentenceLength skips longer lines, in bytes. Zero: 4192.
	MaxSentenceLength int
	// SplitDigits makes every digit a piece of its own.
	SplitDigits bool
	// Progress, if not nil, is called as training advances, from the
	// calling goroutine.
	Progress func(TrainProgress)
}

// TrainProgress reports how far Train has come.
type TrainProgress struct {
	// Stage is "count" while reading the corpus, "em" during the EM and
	// pruning rounds.
	Stage string
	// Done and Total are bytes read and the corpus size (0 if unknown), or
	// the rounds run and the rounds expected.
	Done, Total int64
	// Pieces is the vocabulary size during EM.
	Pieces int
}

func (o *TrainOptions) defaults() error {
	if o.UnkToken == "" {
		o.UnkToken = "<unk>"
	}
	if o.SpecialTokens == nil {
		o.SpecialTokens = []string{o.UnkToken, "<s>", "</s>"}
	}
	if !slices.Contains(o.SpecialTokens, o.UnkToken) {
		o.SpecialTokens = append([]string{o.UnkToken}, o.SpecialTokens...)
	}
	if o.MaxPieceLength == 0 {
		o.MaxPieceLength = 16
	}
	if o.SeedSize == 0 {
		o.SeedSize = 1_000_000
	}
	if o.ShrinkingFactor == 0 {
		o.ShrinkingFactor = 0.75
	}
	if o.SubIterations == 0 {
		o.SubIterations = 2
	}
	if o.MaxSentenceLength == 0 {
		o.MaxSentenceLength = 4192
	}
	switch {
	case o.VocabSize <= 0:
		return fmt.Errorf("unigram: train: vocabulary size %d must be positive", o.VocabSize)
	case o.MaxPieceLength < 1 || o.SeedSize < 1 || o.SubIterations < 1 || o.MaxSentenceLength < 1:
		return fmt.Errorf("unigram: train: negative MaxPieceLength, SeedSize, SubIterations or MaxSentenceLength")
	case !(o.ShrinkingFactor > 0 && o.ShrinkingFactor < 1):
		return fmt.Errorf("unigram: train: shrinking factor %v must be in (0, 1)", o.ShrinkingFactor)
	case o.Normalization > Identity:
		return fmt.Errorf("unigram: train: unknown normalization %d", o.Normalization)
	}
	seen := map[string]bool{}
	for _, s := range append(slices.Clone(o.SpecialTokens), o.UserDefined...) {
		if s == "" || seen[s] {
			return fmt.Errorf("unigram: train: special or user-defined piece %q is empty or repeated", s)
		}
		seen[s] = true
	}
	return nil
}

// Train learns a Unigram vocabulary from a corpus (one sentence per line)
// with sentencepiece's algorithm:
//
//  1. Each line is normalized as the model will normalize text ("▁" for
//     spaces, the dummy prefix) and cut into words at the "▁"s.
//  2. The seed vocabulary is every character plus the most frequent
//     substrings of words (at most SeedSize, scored by frequency × length,
//     valid as pieces: "▁" only in front, one Unicode script, at most
//     MaxPieceLength characters), with log-frequency scores.
//  3. EM: the E step computes each piece's expected count over all
//     segmentations of every word (forward-backward on its lattice); the M
//     step drops pieces expected less than 0.5 times and sets each score to
//     digamma(count) − digamma(total), a Bayesian (sparse-prior) update.
//  4. After SubIterations EM steps, pieces are pruned: each piece's loss is
//     how much the corpus likelihood falls when it is removed and its uses
//     go to its second-best segmentation; the ShrinkingFactor share with the
//     highest loss stays (pieces whose own best segmentation is a split go
//     at once). Steps 3–4 repeat until the vocabulary is within 110 % of
//     its target.
//  5. The final vocabulary is every character (missing ones get a score
//     just below the lowest) and then the best-scoring pieces, up to
//     VocabSize with the special, user-defined and byte pieces first.
//
// Training is deterministic: the same corpus and options give the same
// model, whatever the number of threads. It is not bit-compatible with
// sentencepiece's (whose seeds come from a suffix array and whose pruning
// loss has a known slip), but produces the same kind of vocabulary.
func Train(ctx context.Context, corpus io.Reader, opt TrainOptions) (*Model, error) {
	tr, err := newUnigramTrainer(opt)
	if err != nil {
		return nil, err
	}
	if err := tr.count(ctx, corpus, 0); err != nil {
		return nil, err
	}
	return tr.train(ctx)
}

// TrainFiles is Train over the concatenation of text files.
func TrainFiles(ctx context.Context, paths []string, opt TrainOptions) (*Model, error) {
	tr, err := newUnigramTrainer(opt)
	if err != nil {
		return nil, err
	}
	if err := corpus.ReadFiles(ctx, "unigram: train", paths, tr.count); err != nil {
		return nil, err
	}
	return tr.train(ctx)
}

// unigramTrainer holds one training run.
type unigramTrainer struct {
	opt    TrainOptions
	norm   *normalizer
	proto  *spmodel.Model // the model being built (normalizer spec filled)
	words  map[string]int64
	chars  map[rune]int64
	read   int64
	nlines int64
}

func newUnigramTrainer(opt TrainOptions) (*unigramTrainer, error) {
	if err := opt.defaults(); err != nil {
		return nil, err
	}
	p := spmodel.New()
	p.Trainer.VocabSize = int32(opt.VocabSize)
	p.Trainer.ByteFallback = opt.ByteFallback
	p.Normalizer.Name = "identity"
	n := &normalizer{dummyPrefix: true, removeExtra: true, escape: true}
	if opt.Normalization == NFKC {
		p.Normalizer.Name = "nmt_nfkc"
		p.Normalizer.PrecompiledCharsmap = spmodel.NMTNFKC()
		cm, err := spmodel.ParseCharsmap(p.Normalizer.PrecompiledCharsmap)
		if err != nil {
			return nil, fmt.Errorf("unigram: train: %w", err)
		}
		n.cmap = cm
	}
	if len(opt.UserDefined) > 0 {
		ids := make([]int32, len(opt.UserDefined))
		n.user = buildTrie(opt.UserDefined, ids)
	}
	return &unigramTrainer{opt: opt, norm: n, proto: p, words: map[string]int64{}, chars: map[rune]int64{}}, nil
}

func (tr *unigramTrainer) progress(p TrainProgress) {
	if tr.opt.Progress != nil {
		tr.opt.Progress(p)
	}
}

// count normalizes the lines of r and counts their words and characters.
func (tr *unigramTrainer) count(ctx context.Context, r io.Reader, total int64) error {
	br := bufio.NewReaderSize(r, 1<<16)
	var nb normalized
	for {
		line, err := br.ReadString('\n')
		tr.read += int64(len(line))
		line = strings.TrimRight(line, "\r\n")
		if line != "" && len(line) <= tr.opt.MaxSentenceLength {
			tr.norm.normalize(line, &nb)
			tr.addSentence(string(nb.s))
		}
		if tr.nlines++; tr.nlines%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			tr.progress(TrainProgress{Stage: "count", Done: tr.read, Total: total})
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("unigram: train: read corpus: %w", err)
		}
	}
	tr.progress(TrainProgress{Stage: "count", Done: tr.read, Total: total})
	return nil
}

// addSentence counts the words of a normalized sentence: each starts at a
// "▁". User-defined pieces are left out of training (they are in the
// vocabulary anyway).
func (tr *unigramTrainer) addSentence(s string) {
	for s != "" {
		end := strings.Index(s[1:], metaspace)
		w := s
		if end >= 0 {
			w, s = s[:end+1], s[end+1:]
		} else {
			s = ""
		}
		if tr.norm.user != nil {
			tr.addUserSplit(w)
			continue
		}
		tr.words[w]++
	}
}

// addUserSplit counts the parts of w between user-defined pieces.
func (tr *unigramTrainer) addUserSplit(w string) {
	begin := 0
	for i := 0; i < len(w); {
		if l, _ := tr.norm.user.longestPrefix(w[i:]); l > 0 {
			if i > begin {
				tr.words[w[begin:i]]++
			}
			i += l
			begin = i
			continue
		}
		i++
	}
	if begin < len(w) {
		tr.words[w[begin:]]++
	}
}

// word is a distinct word and its count.
type word struct {
	text  string
	count int64
}

func (tr *unigramTrainer) train(ctx context.Context) (*Model, error) {
	words := make([]word, 0, len(tr.words))
	for w, c := range tr.words {
		words = append(words, word{w, c})
		for _, r := range w {
			tr.chars[r] += c
		}
	}
	tr.words = nil
	sort.Slice(words, func(i, j int) bool { return words[i].text < words[j].text })
	meta := len(tr.opt.SpecialTokens) + len(tr.opt.UserDefined)
	if tr.opt.ByteFallback {
		meta += 256
	}
	if len(tr.chars) == 0 {
		return nil, fmt.Errorf("unigram: train: the corpus has no text")
	}
	if need := meta + len(tr.chars); tr.opt.VocabSize < need {
		return nil, fmt.Errorf("unigram: train: vocabulary size %d is below the %d pieces needed (%d special, user-defined and byte pieces and %d characters)",
			tr.opt.VocabSize, need, meta, len(tr.chars))
	}
	pieces, scores := tr.seed(words)
	model := newTrainModel(pieces, scores)
	desired := int(float64(tr.opt.VocabSize-meta) * 1.1)
	rounds := int64(1)
	if len(pieces) > desired {
		rounds = int64(math.Ceil(math.Log(float64(len(pieces))/float64(desired))/math.Log(1/tr.opt.ShrinkingFactor))) + 1
	}
	for round := int64(0); ; round++ {
		tr.progress(TrainProgress{Stage: "em", Done: round, Total: max(rounds, round+1), Pieces: len(model.pieces)})
		for range tr.opt.SubIterations {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			expected := tr.eStep(model, words)
			model = mStep(model, expected)
		}
		if len(model.pieces) <= desired {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		model = tr.prune(model, words, desired)
	}
	tr.progress(TrainProgress{Stage: "em", Done: rounds, Total: rounds, Pieces: len(model.pieces)})
	return tr.finish(model, meta)
}

// seed returns the seed vocabulary: all characters, then frequent
// substrings, scored by log frequency (× length for substrings).
func (tr *unigramTrainer) seed(words []word) ([]string, []float64) {
	type cand struct {
		s     string
		score float64
	}
	var chars []cand
	for r, c := range tr.chars {
		chars = append(chars, cand{string(r), float64(c)})
	}
	sort.Slice(chars, func(i, j int) bool {
		if chars[i].score != chars[j].score {
			return chars[i].score > chars[j].score
		}
		return chars[i].s < chars[j].s
	})
	scripts := map[rune]*unicode.RangeTable{}
	counts := map[string]int64{}
	maxLen := tr.opt.MaxPieceLength
	var bounds []int
	for _, w := range words {
		bounds = bounds[:0]
		for i := range w.text {
			bounds = append(bounds, i)
		}
		bounds = append(bounds, len(w.text))
		nc := len(bounds) - 1
		for i := 0; i < nc; i++ {
			for j := i + 2; j <= min(nc, i+maxLen); j++ {
				s := w.text[bounds[i]:bounds[j]]
				if !tr.validPiece(s, scripts) {
					break // every longer substring from i is invalid too
				}
				counts[s] += w.count
			}
		}
	}
	var subs []cand
	for s, c := range counts {
		if c >= 2 {
			subs = append(subs, cand{s, float64(c) * float64(utf8.RuneCountInString(s))})
		}
	}
	sort.Slice(subs, func(i, j int) bool {
		if subs[i].score != subs[j].score {
			return subs[i].score > subs[j].score
		}
		return subs[i].s < subs[j].s
	})
	if room := tr.opt.SeedSize - len(chars); len(subs) > room {
		subs = subs[:max(room, 0)]
	}
	all := append(chars, subs...)
	pieces, scores := make([]string, len(all)), make([]float64, len(all))
	sum := 0.0
	for _, c := range all {
		sum += c.score
	}
	logSum := math.Log(sum)
	for i, c := range all {
		pieces[i], scores[i] = c.s, math.Log(c.score)-logSum
	}
	return pieces, scores
}

// validPiece reports whether s may be a piece, as sentencepiece's
// IsValidSentencePiece decides with its default options: "▁" only in
// front, no mixing of Unicode scripts (Hiragana and Katakana count as Han;
// digits and punctuation are Common), no NUL, and with SplitDigits no digit
// in a longer piece. A failure at the end of s means every extension of s
// fails too.
func (tr *unigramTrainer) validPiece(s string, scripts map[rune]*unicode.RangeTable) bool {
	var prev *unicode.RangeTable
	pos := 0
	for _, r := range s {
		switch {
		case r == 0 || r == utf8.RuneError:
			return false
		case r == '\u2581':
			if pos > 0 {
				return false
			}
		default:
			if tr.opt.SplitDigits && r >= '0' && r <= '9' {
				return false
			}
			sc := scriptOf(r, scripts)
			if prev != nil && sc != prev {
				return false
			}
			prev = sc
		}
		pos++
	}
	return true
}

// scriptOf returns the Unicode script table of r (cached in memo):
// Hiragana, Katakana and the prolonged sound mark count as Han, as in
// sentencepiece.
func scriptOf(r rune, memo map[rune]*unicode.RangeTable) *unicode.RangeTable {
	if t, ok := memo[r]; ok {
		return t
	}
	t := unicode.Common
	switch {
	case r == 0x30FC || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Han, r):
		t = unicode.Han
	case unicode.Is(unicode.Latin, r):
		t = unicode.Latin
	default:
		for _, name := range scriptNames() {
			if tab := unicode.Scripts[name]; unicode.Is(tab, r) {
				t = tab
				break
			}
		}
	}
	memo[r] = t
	return t
}

var scriptNames = sync.OnceValue(func() []string {
	names := make([]string, 0, len(unicode.Scripts))
	for n := range unicode.Scripts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
})

// chunks is how many parts the E step and pruning split the words into;
// fixed so that sums do not depend on the number of threads.
const chunks = 16

// parallel runs fn over the words in chunks on GOMAXPROCS workers.
func parallel(words []word, fn func(c int, ws []word)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	size := (len(words) + chunks - 1) / chunks
	for c := range chunks {
		lo, hi := min(c*size, len(words)), min((c+1)*size, len(words))
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(c, words[lo:hi])
		}()
	}
	wg.Wait()
}

// eStep returns the expected count of every piece over the corpus.
func (tr *unigramTrainer) eStep(m *trainModel, words []word) []float64 {
	parts := make([][]float64, chunks)
	parallel(words, func(c int, ws []word) {
		exp := make([]float64, len(m.pieces))
		var l lattice
		var alpha, beta []float64
		for _, w := range ws {
			l.build(m, w.text)
			if cap(alpha) < l.n+1 {
				alpha, beta = make([]float64, l.n+1), make([]float64, l.n+1)
			}
			l.marginals(float64(w.count), exp, alpha, beta)
		}
		parts[c] = exp
	})
	expected := parts[0]
	for _, p := range parts[1:] {
		for i, v := range p {
			expected[i] += v
		}
	}
	return expected
}

// mStep keeps the pieces expected at least half a time and rescores them
// with the digamma update.
func mStep(m *trainModel, expected []float64) *trainModel {
	var pieces []string
	var scores []float64
	sum := 0.0
	for i, f := range expected {
		if f < 0.5 {
			continue
		}
		pieces, scores = append(pieces, m.pieces[i]), append(scores, f)
		sum += f
	}
	logSum := digamma(sum)
	for i := range scores {
		scores[i] = digamma(scores[i]) - logSum
	}
	return newTrainModel(pieces, scores)
}

// digamma is ψ(x), the derivative of log Γ, by recurrence up to 7 and the
// asymptotic series.
func digamma(x float64) float64 {
	r := 0.0
	for ; x < 7; x++ {
		r -= 1 / x
	}
	x -= 0.5
	xx := 1 / x
	xx2 := xx * xx
	xx4 := xx2 * xx2
	return r + math.Log(x) + xx2/24 - 7*xx4/960 + 31*xx4*xx2/8064 - 127*xx4*xx4/30720
}

// prune keeps the pieces whose removal would cost the corpus likelihood
// most: max(desired, ShrinkingFactor × size) of them.
func (tr *unigramTrainer) prune(m *trainModel, words []word, desired int) *trainModel {
	n := len(m.pieces)
	alwaysKeep := make([]bool, n)
	alternatives := make([][]int32, n)
	var l lattice
	for i, p := range m.pieces {
		l.build(m, p)
		first, second := l.twoBest()
		switch {
		case second == nil:
			alwaysKeep[i] = true
		case len(first) >= 2:
			// Its own best segmentation is a split: it can go.
		default:
			alwaysKeep[i] = true
			alternatives[i] = second
		}
	}
	// The Viterbi frequency of each piece, and the words using it.
	freqs := make([][]float64, chunks)
	inv := make([][][]int32, chunks)
	size := (len(words) + chunks - 1) / chunks
	parallel(words, func(c int, ws []word) {
		f := make([]float64, n)
		iv := make([][]int32, n)
		var l lattice
		var best []float64
		var back, ids []int32
		for k, w := range ws {
			l.build(m, w.text)
			if cap(best) < l.n+1 {
				best, back = make([]float64, l.n+1), make([]int32, l.n+1)
			}
			ids = l.viterbi(ids[:0], best, back)
			for _, id := range ids {
				if id >= 0 {
					f[id] += float64(w.count)
					iv[id] = append(iv[id], int32(c*size+k))
				}
			}
		}
		freqs[c], inv[c] = f, iv
	})
	freq := freqs[0]
	for _, f := range freqs[1:] {
		for i, v := range f {
			freq[i] += v
		}
	}
	vsum := 0.0
	for _, w := range words {
		vsum += float64(w.count)
	}
	sum := 0.0
	for _, f := range freq {
		sum += f
	}
	logSum := math.Log(sum)
	type cand struct {
		id   int
		loss float64
	}
	var keep []int
	var cands []cand
	for i := range n {
		switch {
		case freq[i] == 0 || !alwaysKeep[i]:
		case alternatives[i] == nil:
			keep = append(keep, i)
		default:
			// F: the share of words that use the piece.
			F := 0.0
			for c := range chunks {
				for _, wi := range inv[c][i] {
					F += float64(words[wi].count)
				}
			}
			F /= vsum
			logProb := math.Log(freq[i]) - logSum
			// Removing the piece hands its uses to its alternatives.
			alt := alternatives[i]
			logSumAlt := math.Log(sum + freq[i]*float64(len(alt)-1))
			logProbAlt := 0.0
			for _, a := range alt {
				if a >= 0 {
					logProbAlt += math.Log(freq[a]+freq[i]) - logSumAlt
				} else {
					logProbAlt += m.minScore - unkPenalty
				}
			}
			cands = append(cands, cand{i, F * (logProb - logProbAlt)})
		}
	}
	sort.Slice(cands, func(a, b int) bool {
		if cands[a].loss != cands[b].loss {
			return cands[a].loss > cands[b].loss
		}
		return cands[a].id < cands[b].id
	})
	target := max(desired, int(tr.opt.ShrinkingFactor*float64(n)))
	for _, c := range cands {
		if len(keep) >= target {
			break
		}
		keep = append(keep, c.id)
	}
	sort.Ints(keep)
	pieces, scores := make([]string, len(keep)), make([]float64, len(keep))
	for k, i := range keep {
		pieces[k], scores[k] = m.pieces[i], m.scores[i]
	}
	return newTrainModel(pieces, scores)
}

// finish builds the final model: special, user-defined and byte pieces,
// every character, then the best pieces.
func (tr *unigramTrainer) finish(m *trainModel, meta int) (*Model, error) {
	score := make(map[string]float64, len(m.pieces))
	for i, p := range m.pieces {
		score[p] = m.scores[i]
	}
	type cand struct {
		s     string
		score float64
	}
	var chars []cand
	for r, c := range tr.chars {
		chars = append(chars, cand{string(r), float64(c)})
	}
	sort.Slice(chars, func(i, j int) bool {
		if chars[i].score != chars[j].score {
			return chars[i].score > chars[j].score
		}
		return chars[i].s < chars[j].s
	})
	final := make(map[string]float64, tr.opt.VocabSize)
	low := m.minScore
	if len(m.pieces) == 0 {
		low = -unkPenalty // EM kept nothing (a degenerate corpus)
	}
	penalty := 0.0
	for _, c := range chars {
		if s, ok := score[c.s]; ok {
			final[c.s] = s
		} else {
			// Below every piece, the rarer the lower.
			final[c.s] = low - penalty
			penalty += 1e-4
		}
	}
	var rest []cand
	for i, p := range m.pieces {
		if _, ok := final[p]; !ok {
			rest = append(rest, cand{p, m.scores[i]})
		}
	}
	sort.Slice(rest, func(i, j int) bool {
		if rest[i].score != rest[j].score {
			return rest[i].score > rest[j].score
		}
		return rest[i].s < rest[j].s
	})
	reserved := map[string]bool{}
	for _, s := range tr.opt.SpecialTokens {
		reserved[s] = true
	}
	for _, s := range tr.opt.UserDefined {
		reserved[s] = true
	}
	for _, c := range rest {
		if len(final) >= tr.opt.VocabSize-meta {
			break
		}
		if !reserved[c.s] {
			final[c.s] = c.score
		}
	}
	if got := meta + len(final); got < tr.opt.VocabSize {
		return nil, fmt.Errorf("unigram: train: the corpus supports at most %d pieces, fewer than the vocabulary size %d", got, tr.opt.VocabSize)
	}
	var normal []cand
	for s, sc := range final {
		normal = append(normal, cand{s, sc})
	}
	sort.Slice(normal, func(i, j int) bool {
		if normal[i].score != normal[j].score {
			return normal[i].score > normal[j].score
		}
		return normal[i].s < normal[j].s
	})
	p := tr.proto
	t := &p.Trainer
	t.UnkID, t.BOSID, t.EOSID, t.PadID = -1, -1, -1, -1
	for _, s := range tr.opt.SpecialTokens {
		typ := spmodel.Control
		if s == tr.opt.UnkToken {
			typ = spmodel.Unknown
			t.UnkID, t.UnkPiece = int32(len(p.Pieces)), s
		}
		switch s {
		case t.BOSPiece:
			t.BOSID = int32(len(p.Pieces))
		case t.EOSPiece:
			t.EOSID = int32(len(p.Pieces))
		case t.PadPiece:
			t.PadID = int32(len(p.Pieces))
		}
		p.Pieces = append(p.Pieces, spmodel.Piece{Piece: s, Type: typ})
	}
	for _, s := range tr.opt.UserDefined {
		p.Pieces = append(p.Pieces, spmodel.Piece{Piece: s, Type: spmodel.UserDefined})
	}
	if tr.opt.ByteFallback {
		for b := range 256 {
			p.Pieces = append(p.Pieces, spmodel.Piece{Piece: bytePiece(byte(b)), Type: spmodel.Byte})
		}
	}
	for _, c := range normal {
		p.Pieces = append(p.Pieces, spmodel.Piece{Piece: c.s, Score: float32(c.score), Type: spmodel.Normal})
	}
	return fromProto(p)
}
