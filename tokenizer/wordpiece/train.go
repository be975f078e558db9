package wordpiece

import (
	"bufio"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"github.com/glossa-ai/glossa/internal/atomicfile"
	"github.com/glossa-ai/glossa/tokenizer/internal/corpus"
	"io"
	"path/filepath"
	"slices"
	"strings"
)

// TrainOptions configure Train. VocabSize must be set; every other zero
// value is a default.
type TrainOptions struct {
	// VocabSize is the size of the vocabulary to learn, special tokens and
	// the alphabet included. Training stops earlier when no pair is
	// frequent enough.
	VocabSize int
	// MinFrequency is how often a pair must occur to be merged. Zero: 2.
	MinFrequency int
	// SpecialTokens get the first ids, in order. Zero: [PAD] [UNK] [CLS]
	// [SEP] [MASK]. The unknown token is added if missing.
	SpecialTokens []string
	// LimitAlphabet keeps only the most frequent characters (the others are
	// left out of words, so they become [UNK]). Zero: keep all.
	LimitAlphabet int
	// Model are the options of the new model: its normalizer (the corpus
	// is normalized and split with it), unknown token and prefix. Zero:
	// bert-base-uncased's.
	Model Options
	// Progress, if not nil, is called as training advances, from the
	// calling goroutine.
	Progress func(TrainProgress)
}

// TrainProgress reports how far Train has come.
type TrainProgress struct {
	Stage string // "count" while reading the corpus, "merge" while merging
	Done  int64  // bytes read, or merges made
	Total int64  // bytes to read (0 if unknown), or merges wanted at most
}

// maxTrainLine bounds one line of a training corpus.
const maxTrainLine = 16 << 20

// Train learns a WordPiece vocabulary from a corpus as Hugging Face's
// WordPieceTrainer does: the text is normalized and split into words by
// the BERT basic tokenizer, each word is spelt as its first character
// followed by "##"-prefixed characters, and the most frequent adjacent pair
// of pieces is merged repeatedly ("un" + "##able" → "unable", "##a" + "##b"
// → "##ab") until the vocabulary is full. Ties go to the pair of smallest
// ids. The vocabulary is the special tokens, the alphabet and every merge
// result; encoding then uses greedy longest-match-first like any Model.
func Train(ctx context.Context, corpus io.Reader, opt TrainOptions) (*Model, error) {
	tr, err := newTrainer(opt)
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
	tr, err := newTrainer(opt)
	if err != nil {
		return nil, err
	}
	if err := corpus.ReadFiles(ctx, "wordpiece: train", paths, tr.count); err != nil {
		return nil, err
	}
	return tr.train(ctx)
}

// trainer holds the word counts and, during merging, the pair statistics.
type trainer struct {
	opt      TrainOptions
	norm     *Model         // normalizer and pre-tokenizer only
	wordIdx  map[string]int // word → index in words/counts
	words    []string
	counts   []int64
	read     int64 // bytes counted so far (for progress)
	specials []string
}

func newTrainer(opt TrainOptions) (*trainer, error) {
	if opt.VocabSize <= 0 {
		return nil, fmt.Errorf("wordpiece: train: vocabulary size %d must be positive", opt.VocabSize)
	}
	if opt.MinFrequency < 0 || opt.LimitAlphabet < 0 {
		return nil, fmt.Errorf("wordpiece: train: negative min frequency or alphabet limit")
	}
	if opt.MinFrequency == 0 {
		opt.MinFrequency = 2
	}
	specials := opt.SpecialTokens
	if specials == nil {
		specials = []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}
	}
	unk := opt.Model.UnkToken
	if unk == "" {
		unk = "[UNK]"
	}
	specials = slices.Clone(specials)
	if !slices.Contains(specials, unk) {
		specials = append(specials, unk)
	}
	seen := map[string]bool{}
	for _, s := range specials {
		if s == "" || seen[s] || strings.ContainsAny(s, "\n\r") {
			return nil, fmt.Errorf("wordpiece: train: special token %q is empty, repeated or has a newline", s)
		}
		seen[s] = true
	}
	normOpts := opt.Model
	normOpts.UnkToken = unk
	norm, err := newModel(map[string]int{unk: 0}, []string{unk}, nil, normOpts)
	if err != nil {
		return nil, err
	}
	return &trainer{opt: opt, norm: norm, wordIdx: map[string]int{}, specials: specials}, nil
}

// count adds the words of r to the counts.
func (tr *trainer) count(ctx context.Context, r io.Reader, total int64) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxTrainLine)
	s := new(scratch)
	emit := func(w *wordBuf) {
		if i, ok := tr.wordIdx[string(w.b)]; ok {
			tr.counts[i]++
			return
		}
		word := string(w.b)
		tr.wordIdx[word] = len(tr.words)
		tr.words = append(tr.words, word)
		tr.counts = append(tr.counts, 1)
	}
	for line := 1; sc.Scan(); line++ {
		tr.norm.words(sc.Text(), s, emit)
		tr.read += int64(len(sc.Bytes())) + 1
		if line%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if tr.opt.Progress != nil {
				tr.opt.Progress(TrainProgress{Stage: "count", Done: tr.read, Total: total})
			}
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("wordpiece: train: a corpus line is longer than %d bytes", maxTrainLine)
		}
		return fmt.Errorf("wordpiece: train: %w", err)
	}
	if tr.opt.Progress != nil {
		tr.opt.Progress(TrainProgress{Stage: "count", Done: tr.read, Total: total})
	}
	return nil
}

// pairKey packs two piece ids.
type pairKey uint64

func key(a, b int32) pairKey            { return pairKey(uint64(uint32(a))<<32 | uint64(uint32(b))) }
func (k pairKey) split() (int32, int32) { return int32(uint32(k >> 32)), int32(uint32(k)) }

// pairItem is a heap entry; its count may be stale (checked when popped).
type pairItem struct {
	pair  pairKey
	count int64
}

type pairHeap []pairItem

func (h pairHeap) Len() int { return len(h) }
func (h pairHeap) Less(i, j int) bool {
	if h[i].count != h[j].count {
		return h[i].count > h[j].count
	}
	return h[i].pair < h[j].pair
}
func (h pairHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pairHeap) Push(x any)   { *h = append(*h, x.(pairItem)) }
func (h *pairHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// train runs the merges and builds the Model.
func (tr *trainer) train(ctx context.Context) (*Model, error) {
	prefix := tr.norm.prefix
	tokens := slices.Clone(tr.specials)
	ids := make(map[string]int, tr.opt.VocabSize)
	for i, s := range tokens {
		ids[s] = i
	}
	add := func(s string) int32 {
		if id, ok := ids[s]; ok {
			return int32(id)
		}
		ids[s] = len(tokens)
		tokens = append(tokens, s)
		return int32(len(tokens) - 1)
	}

	// The alphabet: every character, or the most frequent LimitAlphabet.
	freq := map[rune]int64{}
	for i, w := range tr.words {
		for _, r := range w {
			freq[r] += tr.counts[i]
		}
	}
	alphabet := make([]rune, 0, len(freq))
	for r := range freq {
		alphabet = append(alphabet, r)
	}
	if n := tr.opt.LimitAlphabet; n > 0 && len(alphabet) > n {
		slices.SortFunc(alphabet, func(a, b rune) int {
			if freq[a] != freq[b] {
				return int(min(max(freq[b]-freq[a], -1), 1))
			}
			return int(a - b)
		})
		alphabet = alphabet[:n]
	}
	slices.Sort(alphabet)
	inAlphabet := make(map[rune]bool, len(alphabet))
	for _, r := range alphabet {
		add(string(r))
		inAlphabet[r] = true
	}

	// Spell every word: first character, then "##" continuations, whose ids
	// follow the alphabet in sorted order.
	var conts []string
	for _, w := range tr.words {
		for i, r := range w {
			if i > 0 && inAlphabet[r] {
				if _, ok := ids[prefix+string(r)]; !ok {
					ids[prefix+string(r)] = -1 // placeholder, numbered below
					conts = append(conts, prefix+string(r))
				}
			}
		}
	}
	slices.Sort(conts)
	for _, c := range conts {
		delete(ids, c)
		add(c)
	}
	// Words sorted for determinism.
	order := make([]int, len(tr.words))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(tr.words[a], tr.words[b]) })
	syms := make([][]int32, len(order))
	counts := make([]int64, len(order))
	for j, i := range order {
		w := tr.words[i]
		counts[j] = tr.counts[i]
		for k, r := range w {
			if !inAlphabet[r] {
				continue
			}
			s := string(r)
			if k > 0 {
				s = prefix + s
			}
			syms[j] = append(syms[j], int32(ids[s]))
		}
	}
	tr.wordIdx, tr.words, tr.counts = nil, nil, nil // no longer needed

	// Pair statistics: how often each pair occurs and in which words.
	pairCount := map[pairKey]int64{}
	where := map[pairKey][]int32{}
	for w, s := range syms {
		for i := 0; i+1 < len(s); i++ {
			k := key(s[i], s[i+1])
			pairCount[k] += counts[w]
			if l := where[k]; len(l) == 0 || l[len(l)-1] != int32(w) {
				where[k] = append(l, int32(w))
			}
		}
	}
	h := make(pairHeap, 0, len(pairCount))
	for k, c := range pairCount {
		h = append(h, pairItem{k, c})
	}
	heap.Init(&h)

	stamp := make([]int, len(syms))
	touched := map[pairKey]bool{}
	wanted := int64(max(tr.opt.VocabSize-len(tokens), 0))
	var merges int64
	for len(tokens) < tr.opt.VocabSize && h.Len() > 0 {
		top := heap.Pop(&h).(pairItem)
		if cur := pairCount[top.pair]; cur != top.count {
			if cur > 0 {
				heap.Push(&h, pairItem{top.pair, cur})
			}
			continue
		}
		if top.count < int64(tr.opt.MinFrequency) {
			break
		}
		a, b := top.pair.split()
		c := add(tokens[a] + strings.TrimPrefix(tokens[b], prefix))
		merges++
		clear(touched)
		for _, wi := range where[top.pair] {
			if stamp[wi] == int(merges) {
				continue
			}
			stamp[wi] = int(merges)
			s, n := syms[wi], counts[wi]
			for i := 0; i+1 < len(s); i++ {
				pairCount[key(s[i], s[i+1])] -= n
			}
			j := 0
			for i := 0; i < len(s); j++ {
				if i+1 < len(s) && s[i] == a && s[i+1] == b {
					s[j] = c
					i += 2
				} else {
					s[j] = s[i]
					i++
				}
			}
			s = s[:j]
			syms[wi] = s
			for i := 0; i+1 < len(s); i++ {
				k := key(s[i], s[i+1])
				pairCount[k] += n
				if s[i] == c || s[i+1] == c {
					touched[k] = true
					if l := where[k]; len(l) == 0 || l[len(l)-1] != wi {
						where[k] = append(l, wi)
					}
				}
			}
		}
		delete(where, top.pair)
		delete(pairCount, top.pair)
		for k := range touched {
			if cnt := pairCount[k]; cnt > 0 {
				heap.Push(&h, pairItem{k, cnt})
			}
		}
		if merges%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if tr.opt.Progress != nil {
				tr.opt.Progress(TrainProgress{Stage: "merge", Done: merges, Total: wanted})
			}
		}
	}
	if tr.opt.Progress != nil {
		tr.opt.Progress(TrainProgress{Stage: "merge", Done: merges, Total: merges})
	}
	opts := tr.opt.Model
	opts.UnkToken = tr.norm.unk
	opts.SpecialTokens = tr.specials
	return newModel(ids, tokens, nil, opts)
}

// SaveDir writes the model to dir as tokenizer.json and vocab.txt, each
// atomically (written to a temporary file, then renamed).
func (m *Model) SaveDir(dir string) error {
	data, err := m.TokenizerJSON()
	if err != nil {
		return err
	}
	if err := writeAtomic(dir, "tokenizer.json", func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}); err != nil {
		return err
	}
	return writeAtomic(dir, "vocab.txt", m.WriteVocab)
}

func writeAtomic(dir, name string, write func(io.Writer) error) error {
	if err := atomicfile.Write(filepath.Join(dir, name), write); err != nil {
		return fmt.Errorf("wordpiece: save: %w", err)
	}
	return nil
}
