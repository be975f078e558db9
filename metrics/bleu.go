package metrics

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
)

// SacreBLEUVersion is the sacreBLEU release line whose BLEU this package
// reproduces; it ends the signature ("version:2.x").
const SacreBLEUVersion = "2.x"

// BLEUTokenizer chooses how BLEU splits text into tokens.
type BLEUTokenizer uint8

const (
	// Tok13a is mteval-v13a's tokenizer, sacreBLEU's default: ASCII
	// punctuation and symbols become tokens, '.' and ',' split off unless
	// between digits, '-' after a digit splits off.
	Tok13a BLEUTokenizer = iota
	// TokNone splits on whitespace only (sacreBLEU's "none").
	TokNone
)

// String returns the name sacreBLEU's signature uses ("13a", "none").
func (t BLEUTokenizer) String() string {
	switch t {
	case Tok13a:
		return "13a"
	case TokNone:
		return "none"
	}
	return fmt.Sprintf("BLEUTokenizer(%d)", uint8(t))
}

// ParseBLEUTokenizer parses "13a" or "none".
func ParseBLEUTokenizer(s string) (BLEUTokenizer, error) {
	for _, t := range []BLEUTokenizer{Tok13a, TokNone} {
		if s == t.String() {
			return t, nil
		}
	}
	return 0, fmt.Errorf("metrics: unknown BLEU tokenizer %q (want 13a or none)", s)
}

// Smoothing is the treatment of zero n-gram matches (Chen and Cherry,
// 2014, "A Systematic Comparison of Smoothing Techniques for
// Sentence-Level BLEU").
type Smoothing uint8

const (
	// SmoothExp: the k-th order with no match gets precision
	// 1 / (2^k · total) (method 3, mteval-v13a's; sacreBLEU's default).
	SmoothExp Smoothing = iota
	// SmoothNone: a zero precision makes BLEU 0.
	SmoothNone
	// SmoothFloor: a zero match count becomes SmoothValue (default 0.1;
	// method 1).
	SmoothFloor
	// SmoothAddK: SmoothValue (default 1) is added to the matches and the
	// totals of orders 2 and up (method 2).
	SmoothAddK
)

// String returns sacreBLEU's name ("exp", "none", "floor", "add-k").
func (s Smoothing) String() string {
	switch s {
	case SmoothExp:
		return "exp"
	case SmoothNone:
		return "none"
	case SmoothFloor:
		return "floor"
	case SmoothAddK:
		return "add-k"
	}
	return fmt.Sprintf("Smoothing(%d)", uint8(s))
}

// ParseSmoothing parses "exp", "none", "floor" or "add-k".
func ParseSmoothing(s string) (Smoothing, error) {
	for _, m := range []Smoothing{SmoothExp, SmoothNone, SmoothFloor, SmoothAddK} {
		if s == m.String() {
			return m, nil
		}
	}
	return 0, fmt.Errorf("metrics: unknown BLEU smoothing %q (want exp, none, floor or add-k)", s)
}

// BLEUOptions are sacreBLEU's BLEU arguments. The zero value (and nil) is
// sacreBLEU's default: case-sensitive, 13a, exp smoothing, 4-grams, no
// effective order.
type BLEUOptions struct {
	// Lowercase lower-cases hypotheses and references first ("case:lc").
	Lowercase bool
	// Tokenize is the tokenizer; zero: Tok13a.
	Tokenize BLEUTokenizer
	// Smooth is the smoothing method; zero: SmoothExp.
	Smooth Smoothing
	// SmoothValue is the floor or the k of SmoothFloor and SmoothAddK;
	// zero: their defaults, 0.1 and 1.
	SmoothValue float64
	// MaxOrder is the longest n-gram; zero: 4.
	MaxOrder int
	// EffectiveOrder averages only the orders up to the last with any
	// n-gram in the hypotheses, as sentence-level BLEU should.
	EffectiveOrder bool
}

// maxBLEUOrder bounds MaxOrder.
const maxBLEUOrder = 64

// norm returns the options with defaults filled in, or an error.
func (o *BLEUOptions) norm() (BLEUOptions, error) {
	var n BLEUOptions
	if o != nil {
		n = *o
	}
	if n.MaxOrder == 0 {
		n.MaxOrder = 4
	}
	switch {
	case n.MaxOrder < 0 || n.MaxOrder > maxBLEUOrder:
		return n, fmt.Errorf("metrics: BLEU max order %d (want 1 … %d)", n.MaxOrder, maxBLEUOrder)
	case n.SmoothValue < 0 || math.IsNaN(n.SmoothValue) || math.IsInf(n.SmoothValue, 0):
		return n, fmt.Errorf("metrics: BLEU smoothing value %v (want ≥ 0)", n.SmoothValue)
	case n.Tokenize > TokNone:
		return n, fmt.Errorf("metrics: %v", n.Tokenize)
	case n.Smooth > SmoothAddK:
		return n, fmt.Errorf("metrics: %v", n.Smooth)
	}
	if n.SmoothValue == 0 {
		switch n.Smooth {
		case SmoothFloor:
			n.SmoothValue = 0.1
		case SmoothAddK:
			n.SmoothValue = 1
		}
	}
	return n, nil
}

// Signature returns sacreBLEU's reproducibility signature for these
// options and nrefs references per hypothesis (negative: a variable
// number, "nrefs:var"), e.g.
// "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.x".
func (o *BLEUOptions) Signature(nrefs int) string {
	n, err := o.norm()
	if err != nil {
		return "invalid:" + err.Error()
	}
	refs := fmt.Sprint(nrefs)
	if nrefs < 0 {
		refs = "var"
	}
	c, e := "mixed", "no"
	if n.Lowercase {
		c = "lc"
	}
	if n.EffectiveOrder {
		e = "yes"
	}
	smooth := n.Smooth.String()
	if n.Smooth == SmoothFloor || n.Smooth == SmoothAddK {
		smooth += fmt.Sprintf("[%.2f]", n.SmoothValue)
	}
	return fmt.Sprintf("nrefs:%s|case:%s|eff:%s|tok:%s|smooth:%s|version:%s", refs, c, e, n.Tokenize, smooth, SacreBLEUVersion)
}

// BLEU is a BLEU score (0–100) with its sufficient statistics, as
// sacreBLEU's BLEUScore.
type BLEU struct {
	Score float64
	// Counts and Totals are the clipped matches and the hypothesis n-grams
	// of each order, summed over the corpus (before add-k smoothing).
	Counts, Totals []int
	// Precisions are the (smoothed) n-gram precisions, 0–100; orders after
	// one with no n-gram at all stay 0.
	Precisions []float64
	// BP is the brevity penalty.
	BP float64
	// HypLen and RefLen are the hypothesis and (closest) reference lengths
	// in tokens, summed over the corpus.
	HypLen, RefLen int
	// Signature is sacreBLEU's signature of the options and references
	// (empty from ComputeBLEU).
	Signature string
}

// Ratio is HypLen / RefLen (0 when RefLen is 0).
func (b BLEU) Ratio() float64 {
	if b.RefLen == 0 {
		return 0
	}
	return float64(b.HypLen) / float64(b.RefLen)
}

// String formats b as sacreBLEU does: "BLEU = 48.53 82.4/50.0/45.5/37.5
// (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)".
func (b BLEU) String() string {
	p := make([]string, len(b.Precisions))
	for i, x := range b.Precisions {
		p[i] = fmt.Sprintf("%.1f", x)
	}
	return fmt.Sprintf("BLEU = %.2f %s (BP = %.3f ratio = %.3f hyp_len = %d ref_len = %d)",
		b.Score, strings.Join(p, "/"), b.BP, b.Ratio(), b.HypLen, b.RefLen)
}

// ErrNoReference is wrapped by errors about a hypothesis without a
// (non-empty) reference.
var ErrNoReference = errors.New("no reference")

// CorpusBLEU scores hypotheses against their references with sacreBLEU's
// corpus_score: refs[i] holds the references of hyps[i] (note: sacreBLEU
// takes reference streams, refs[k][i]). Empty reference strings are
// dropped, as sacreBLEU drops "" and None, so hypotheses may have different
// numbers of references ("nrefs:var"); a hypothesis left without any is an
// error, and so are unequal lengths (sacreBLEU would silently truncate).
// opts may be nil.
func CorpusBLEU(hyps []string, refs [][]string, opts *BLEUOptions) (BLEU, error) {
	o, err := opts.norm()
	if err != nil {
		return BLEU{}, err
	}
	if len(hyps) != len(refs) {
		return BLEU{}, fmt.Errorf("metrics: BLEU: %d hypotheses but %d reference sets", len(hyps), len(refs))
	}
	if len(hyps) == 0 {
		return BLEU{}, errors.New("metrics: BLEU: no hypotheses")
	}
	counts, totals := make([]int, o.MaxOrder), make([]int, o.MaxOrder)
	var hypLen, refLen int
	nrefs := 0
	var c ngramCounter
	for i, h := range hyps {
		n, err := c.segment(&o, h, refs[i], counts, totals, &hypLen, &refLen)
		if err != nil {
			return BLEU{}, fmt.Errorf("metrics: BLEU: hypothesis %d: %w", i, err)
		}
		switch {
		case i == 0:
			nrefs = n
		case nrefs != n:
			nrefs = -1
		}
	}
	b := computeBLEU(counts, totals, hypLen, refLen, &o)
	b.Signature = o.Signature(nrefs)
	return b, nil
}

// SentenceBLEU is CorpusBLEU of one hypothesis. sacreBLEU recommends
// EffectiveOrder for it (its sentence_bleu also sets it).
func SentenceBLEU(hyp string, refs []string, opts *BLEUOptions) (BLEU, error) {
	return CorpusBLEU([]string{hyp}, [][]string{refs}, opts)
}

// ComputeBLEU is sacreBLEU's compute_bleu: the score of sufficient
// statistics (matches and totals per order, summed lengths) under opts'
// smoothing and effective order. len(counts) is the order; opts.MaxOrder
// is ignored.
func ComputeBLEU(counts, totals []int, hypLen, refLen int, opts *BLEUOptions) (BLEU, error) {
	o, err := opts.norm()
	if err != nil {
		return BLEU{}, err
	}
	if len(counts) != len(totals) || len(counts) == 0 || len(counts) > maxBLEUOrder {
		return BLEU{}, fmt.Errorf("metrics: BLEU: %d counts and %d totals (want equal, 1 … %d)", len(counts), len(totals), maxBLEUOrder)
	}
	for i := range counts {
		if counts[i] < 0 || totals[i] < 0 || counts[i] > totals[i] {
			return BLEU{}, fmt.Errorf("metrics: BLEU: order %d: %d matches of %d n-grams", i+1, counts[i], totals[i])
		}
	}
	if hypLen < 0 || refLen < 0 {
		return BLEU{}, fmt.Errorf("metrics: BLEU: lengths %d and %d", hypLen, refLen)
	}
	o.MaxOrder = len(counts)
	return computeBLEU(counts, totals, hypLen, refLen, &o), nil
}

// computeBLEU follows sacreBLEU's compute_bleu step for step, so that the
// floating-point result is the same.
func computeBLEU(counts, totals []int, hypLen, refLen int, o *BLEUOptions) BLEU {
	N := o.MaxOrder
	b := BLEU{Counts: append([]int(nil), counts...), Totals: append([]int(nil), totals...),
		Precisions: make([]float64, N), HypLen: hypLen, RefLen: refLen, BP: 1}
	if hypLen < refLen {
		b.BP = 0
		if hypLen > 0 {
			b.BP = math.Exp(1 - float64(refLen)/float64(hypLen))
		}
	}
	any := false
	for _, c := range counts {
		any = any || c > 0
	}
	if !any {
		return b // no match at all: 0 (sacreBLEU #141)
	}
	smooth := 1.0
	eff := N
	for n := 1; n <= N; n++ {
		c, t := float64(counts[n-1]), float64(totals[n-1])
		if o.Smooth == SmoothAddK && n > 1 {
			c += o.SmoothValue
			t += o.SmoothValue
		}
		if t == 0 {
			break
		}
		if o.EffectiveOrder {
			eff = n
		}
		switch {
		case c != 0:
			b.Precisions[n-1] = 100 * c / t
		case o.Smooth == SmoothExp:
			smooth *= 2
			b.Precisions[n-1] = 100 / (smooth * t)
		case o.Smooth == SmoothFloor:
			b.Precisions[n-1] = 100 * o.SmoothValue / t
		}
	}
	sum := 0.0
	for _, p := range b.Precisions[:eff] {
		sum += myLog(p)
	}
	b.Score = b.BP * math.Exp(sum/float64(eff))
	return b
}

// myLog is sacreBLEU's my_log: log, with log 0 = −9999999999.
func myLog(x float64) float64 {
	if x == 0 {
		return -9999999999
	}
	return math.Log(x)
}

// ngramCounter counts the n-grams of one segment at a time. Tokens are
// interned to numbers so that an n-gram key (4 bytes per token) is
// unambiguous whatever the tokens contain.
type ngramCounter struct {
	ids  map[string]uint32
	ref  map[string]int // max count over the references
	one  map[string]int
	key  []byte
	nums []uint32
}

// segment adds one hypothesis's statistics to counts, totals and the
// lengths, and returns its number of references.
func (c *ngramCounter) segment(o *BLEUOptions, hyp string, refs []string, counts, totals []int, hypLen, refLen *int) (int, error) {
	if c.ids == nil {
		c.ids, c.ref, c.one = map[string]uint32{}, map[string]int{}, map[string]int{}
	}
	clear(c.ids)
	clear(c.ref)
	nrefs, closest := 0, -1
	ht := bleuTokens(o, hyp)
	for _, r := range refs {
		if r == "" {
			continue
		}
		nrefs++
		rt := bleuTokens(o, r)
		// The closest reference length; the shorter one on ties.
		if d, dc := absInt(len(rt)-len(ht)), absInt(closest-len(ht)); closest < 0 || d < dc || d == dc && len(rt) < closest {
			closest = len(rt)
		}
		clear(c.one)
		c.count(rt, o.MaxOrder, c.one)
		for g, n := range c.one {
			c.ref[g] = max(c.ref[g], n)
		}
	}
	if nrefs == 0 {
		return 0, fmt.Errorf("%w (empty or missing reference)", ErrNoReference)
	}
	clear(c.one)
	c.count(ht, o.MaxOrder, c.one)
	for g, n := range c.one {
		k := len(g)/4 - 1
		totals[k] += n
		counts[k] += min(n, c.ref[g])
	}
	*hypLen += len(ht)
	*refLen += closest
	return nrefs, nil
}

// count adds the 1 … N-grams of toks to m.
func (c *ngramCounter) count(toks []string, N int, m map[string]int) {
	c.nums = c.nums[:0]
	for _, t := range toks {
		id, ok := c.ids[t]
		if !ok {
			id = uint32(len(c.ids))
			c.ids[t] = id
		}
		c.nums = append(c.nums, id)
	}
	for n := 1; n <= N; n++ {
		for i := 0; i+n <= len(c.nums); i++ {
			c.key = c.key[:0]
			for _, id := range c.nums[i : i+n] {
				c.key = binary.LittleEndian.AppendUint32(c.key, id)
			}
			m[string(c.key)]++
		}
	}
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// bleuTokens preprocesses a segment as sacreBLEU's BLEU does: lower case
// when asked, trailing whitespace stripped, then the tokenizer, then split
// on whitespace.
func bleuTokens(o *BLEUOptions, s string) []string {
	if o.Lowercase {
		s = pyLower(s)
	}
	s = pyRStrip(s)
	if o.Tokenize == Tok13a {
		return Tokenize13a(s)
	}
	return pyFields(s)
}

// The mteval-v13a rules, as sacreBLEU's tokenizer_13a and tokenizer_re.
var (
	re13aPunct   = regexp.MustCompile("([\\{-\\~\\[-\\` -\\&\\(-\\+\\:-\\@\\/])")
	re13aPeriodA = regexp.MustCompile(`([^0-9])([\.,])`)
	re13aPeriodB = regexp.MustCompile(`([\.,])([^0-9])`)
	re13aDash    = regexp.MustCompile(`([0-9])(-)`)
)

// Tokenize13a splits s with the mteval-v13a rules that sacreBLEU uses by
// default: "<skipped>" removed, "-\n" joined, newlines as spaces, the
// entities &quot; &amp; &lt; &gt; decoded (one after the other, as
// sacreBLEU does, so "&amp;lt;" becomes "<"), every ASCII punctuation or
// symbol character but the apostrophe, comma, hyphen and period a token,
// '.' and ',' split off unless between digits, '-' split off after a
// digit; then split on (Python's) whitespace.
func Tokenize13a(s string) []string {
	s = strings.ReplaceAll(s, "<skipped>", "")
	s = strings.ReplaceAll(s, "-\n", "")
	s = strings.ReplaceAll(s, "\n", " ")
	if strings.Contains(s, "&") {
		s = strings.ReplaceAll(s, "&quot;", `"`)
		s = strings.ReplaceAll(s, "&amp;", "&")
		s = strings.ReplaceAll(s, "&lt;", "<")
		s = strings.ReplaceAll(s, "&gt;", ">")
	}
	s = " " + s + " "
	s = re13aPunct.ReplaceAllString(s, " ${1} ")
	s = re13aPeriodA.ReplaceAllString(s, "${1} ${2} ")
	s = re13aPeriodB.ReplaceAllString(s, " ${1} ${2}")
	s = re13aDash.ReplaceAllString(s, "${1} ${2} ")
	return pyFields(s)
}
