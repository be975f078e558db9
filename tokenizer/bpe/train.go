package bpe

import (
	"bufio"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"github.com/glossa-ai/glossa/tokenizer/internal/corpus"
	"io"
	"slices"
	"sort"
)

// TrainOptions configures Train. The zero value is not valid: VocabSize
// must be set.
type TrainOptions struct {
	// VocabSize is the size of the vocabulary to learn, special tokens and
	// the 256 byte tokens included. Training stops earlier when no pair is
	// frequent enough.
	VocabSize int
	// MinFrequency is the number of times a pair must occur to be merged;
	// zero means 2 (a pair seen once compresses nothing worth a token).
	MinFrequency int
	// SpecialTokens get the first ids, in order, and are marked special.
	SpecialTokens []string
	// Progress, if not nil, is called as training advances, from the
	// calling goroutine.
	Progress func(TrainProgress)
}

// TrainProgress reports how far Train has come.
type TrainProgress struct {
	Stage string // "count" while reading the corpus, "merge" while merging
	Done  int64  // bytes read, or merges made
	Total int64  // bytes to read (0 if unknown), or merges wanted
}

// Train learns a byte-level BPE vocabulary from a corpus, GPT-2 style: the
// text is read line by line (newlines kept), split by the GPT-2
// pre-tokenizer, and the most frequent adjacent pair of tokens is merged
// repeatedly, counting only within pre-tokens. Ties go to the pair of
// smallest ids, as in Hugging Face tokenizers. The result encodes like any
// loaded Model and WriteTokenizerJSON saves it.
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
	if err := corpus.ReadFiles(ctx, "bpe: train", paths, tr.count); err != nil {
		return nil, err
	}
	return tr.train(ctx)
}

// trainer holds the state of one training run.
type trainer struct {
	opt    TrainOptions
	counts map[string]int64 // pre-token bytes → occurrences
	read   int64
}

func newTrainer(opt TrainOptions) (*trainer, error) {
	if opt.MinFrequency == 0 {
		opt.MinFrequency = 2
	}
	if opt.MinFrequency < 0 {
		return nil, fmt.Errorf("bpe: train: negative MinFrequency %d", opt.MinFrequency)
	}
	seen := map[string]bool{}
	for _, s := range opt.SpecialTokens {
		if s == "" || seen[s] {
			return nil, fmt.Errorf("bpe: train: special token %q is empty or repeated", s)
		}
		seen[s] = true
	}
	if min := len(opt.SpecialTokens) + 256; opt.VocabSize < min {
		return nil, fmt.Errorf("bpe: train: VocabSize %d is below %d (special tokens + 256 bytes)", opt.VocabSize, min)
	}
	return &trainer{opt: opt, counts: make(map[string]int64)}, nil
}

func (tr *trainer) progress(stage string, done, total int64) {
	if tr.opt.Progress != nil {
		tr.opt.Progress(TrainProgress{Stage: stage, Done: done, Total: total})
	}
}

// count adds the pre-tokens of r to the word counts.
func (tr *trainer) count(ctx context.Context, r io.Reader, total int64) error {
	br := bufio.NewReaderSize(r, 1<<16)
	lines := 0
	for {
		line, err := br.ReadString('\n')
		for p := 0; p < len(line); {
			e := nextPretoken(line, p)
			tr.counts[line[p:e]]++
			p = e
		}
		tr.read += int64(len(line))
		if lines++; lines%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			tr.progress("count", tr.read, total)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("bpe: train: read corpus: %w", err)
		}
	}
	tr.progress("count", tr.read, total)
	return nil
}

// trainWord is one distinct pre-token as a sequence of token ids.
type trainWord struct {
	syms  []int32
	count int64
}

// pairItem is a heap entry: a pair and its count when pushed.
type pairItem struct {
	count int64
	pair  uint64
}

type pairItemHeap []pairItem

func (h pairItemHeap) Len() int { return len(h) }
func (h pairItemHeap) Less(i, j int) bool {
	if h[i].count != h[j].count {
		return h[i].count > h[j].count
	}
	return h[i].pair < h[j].pair
}
func (h pairItemHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pairItemHeap) Push(x any)   { *h = append(*h, x.(pairItem)) }
func (h *pairItemHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// train runs the merges over the counted words.
func (tr *trainer) train(ctx context.Context) (*Model, error) {
	// Vocabulary: special tokens, then the 256 bytes in the order of their
	// byte-level characters (GPT-2's own order), then merged tokens.
	var tokens []string // id → byte-level token
	index := map[string]int32{}
	for _, s := range tr.opt.SpecialTokens {
		index[s] = int32(len(tokens))
		tokens = append(tokens, s)
	}
	alphabet := make([]rune, 256)
	copy(alphabet, byteToRune[:])
	slices.Sort(alphabet)
	var byteID [256]int32
	for _, r := range alphabet {
		s := string(r)
		id, ok := index[s]
		if !ok {
			id = int32(len(tokens))
			index[s] = id
			tokens = append(tokens, s)
		}
		byteID[runeToByte[r]] = id
	}

	// Words in a deterministic order, so ties and ids do not depend on map
	// iteration.
	keys := make([]string, 0, len(tr.counts))
	for w := range tr.counts {
		keys = append(keys, w)
	}
	sort.Strings(keys)
	words := make([]trainWord, len(keys))
	pairCount := make(map[uint64]int64)
	where := make(map[uint64][]int32) // pair → words holding it (may repeat)
	for wi, k := range keys {
		syms := make([]int32, len(k))
		for i := 0; i < len(k); i++ {
			syms[i] = byteID[k[i]]
		}
		c := tr.counts[k]
		words[wi] = trainWord{syms: syms, count: c}
		for i := 0; i+1 < len(syms); i++ {
			p := pairKey(syms[i], syms[i+1])
			pairCount[p] += c
			if ws := where[p]; len(ws) == 0 || ws[len(ws)-1] != int32(wi) {
				where[p] = append(ws, int32(wi))
			}
		}
	}
	tr.counts = nil
	h := make(pairItemHeap, 0, len(pairCount))
	for p, c := range pairCount {
		h = append(h, pairItem{c, p})
	}
	heap.Init(&h)

	var merges [][2]string
	want := int64(tr.opt.VocabSize - len(tokens))
	stamp := make([]int32, len(words)) // dedupe word visits per merge
	for i := range stamp {
		stamp[i] = -1
	}
	touched := map[uint64]struct{}{}
	for len(tokens) < tr.opt.VocabSize && h.Len() > 0 {
		top := heap.Pop(&h).(pairItem)
		cur := pairCount[top.pair]
		if cur != top.count {
			if cur > 0 {
				heap.Push(&h, pairItem{cur, top.pair})
			}
			continue
		}
		if cur < int64(tr.opt.MinFrequency) {
			break
		}
		a, b := int32(top.pair>>32), int32(uint32(top.pair))
		merged := tokens[a] + tokens[b]
		c, ok := index[merged]
		if !ok {
			c = int32(len(tokens))
			index[merged] = c
			tokens = append(tokens, merged)
		}
		merges = append(merges, [2]string{tokens[a], tokens[b]})
		step := int32(len(merges))

		clear(touched)
		for _, wi := range where[top.pair] {
			if stamp[wi] == step {
				continue
			}
			stamp[wi] = step
			w := &words[wi]
			if !slices.Contains(w.syms, a) {
				continue
			}
			// Replace every a,b (left to right) by c, updating pair counts.
			s := w.syms
			for i := 0; i+1 < len(s); i++ {
				pairCount[pairKey(s[i], s[i+1])] -= w.count
			}
			out := s[:0]
			for i := 0; i < len(s); i++ {
				if i+1 < len(s) && s[i] == a && s[i+1] == b {
					out = append(out, c)
					i++
				} else {
					out = append(out, s[i])
				}
			}
			w.syms = out
			for i := 0; i+1 < len(out); i++ {
				p := pairKey(out[i], out[i+1])
				pairCount[p] += w.count
				if out[i] == c || out[i+1] == c {
					touched[p] = struct{}{}
					if ws := where[p]; len(ws) == 0 || ws[len(ws)-1] != wi {
						where[p] = append(ws, wi)
					}
				}
			}
		}
		delete(where, top.pair)
		delete(pairCount, top.pair)
		for p := range touched {
			if n := pairCount[p]; n > 0 {
				heap.Push(&h, pairItem{n, p})
			}
		}
		if len(merges)%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			tr.progress("merge", int64(len(merges)), want)
		}
	}
	tr.progress("merge", int64(len(merges)), want)

	vocab := make(map[string]int, len(tokens))
	for id, t := range tokens {
		vocab[t] = id
	}
	return New(vocab, merges, Options{SpecialTokens: tr.opt.SpecialTokens})
}
