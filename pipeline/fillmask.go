package pipeline

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"sort"

	"github.com/glossa-ai/glossa/kernels"
	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/tokenizer"
)

// FillMask is Hugging Face's fill-mask pipeline: it predicts the tokens
// behind the mask tokens ([MASK], <mask>) of texts with a masked language
// model (BertForMaskedLM, RobertaForMaskedLM, DistilBertForMaskedLM, …).
// It is safe for concurrent use.
type FillMask struct{ m *model }

// FillMaskOptions are the fill-mask pipeline's call options. The zero value
// (or nil) gives the five most probable tokens of the whole vocabulary.
type FillMaskOptions struct {
	// TopK is how many predictions to return per mask. Zero: 5.
	TopK int `json:"top_k"`
	// Targets restricts the predictions to these tokens (and caps TopK at
	// their number). A target that is not a vocabulary token stands for
	// the first token it encodes to; one that encodes to nothing is
	// ignored. Nil: the whole vocabulary.
	Targets []string `json:"targets"`
}

// FillMaskResult is one prediction for one mask.
type FillMaskResult struct {
	Score    float64 `json:"score"`     // the token's probability at the mask
	Token    int     `json:"token"`     // its id
	TokenStr string  `json:"token_str"` // the token decoded alone
	Sequence string  `json:"sequence"`  // the text with the token in place of the mask
}

// FillMaskOutput holds the predictions for one text: one list per mask
// token, best first. It marshals as Hugging Face returns it: the list alone
// when the text has one mask, a list of lists otherwise.
type FillMaskOutput [][]FillMaskResult

// MarshalJSON writes o in Hugging Face's shape.
func (o FillMaskOutput) MarshalJSON() ([]byte, error) {
	if len(o) == 1 {
		return json.Marshal(o[0])
	}
	return json.Marshal([][]FillMaskResult(o))
}

// LoadFillMask loads the fill-mask pipeline of a masked language model (see
// Load).
func LoadFillMask(ctx context.Context, modelRef string, opts *Options) (*FillMask, error) {
	m, err := loadModel(ctx, FillMaskTask, modelRef, opts, bert.HeadMLM)
	if err != nil {
		return nil, err
	}
	return newFillMask(m)
}

// newFillMask is the fill-mask pipeline over a loaded model with an MLM
// head.
func newFillMask(m *model) (*FillMask, error) {
	if m.special.mask < 0 {
		return nil, inputErr("the tokenizer defines no mask token ([MASK] or <mask>)")
	}
	return &FillMask{m}, nil
}

// Task reports FillMaskTask.
func (p *FillMask) Task() Task { return FillMaskTask }

// MaskToken returns the text of the mask token ("[MASK]", "<mask>").
func (p *FillMask) MaskToken() string { return p.m.special.maskText }

// Run fills the masks of every text: one FillMaskOutput per text, with as
// many lists of predictions as the text has masks. A text without a mask
// token, or longer than the model, is an error (ErrInput). The texts run in
// batched forward passes; the masked-LM head runs on the mask positions
// only.
func (p *FillMask) Run(ctx context.Context, texts []string, opts *FillMaskOptions) ([]FillMaskOutput, error) {
	if opts == nil {
		opts = &FillMaskOptions{}
	}
	m := p.m
	topK := opts.TopK
	switch {
	case topK == 0:
		topK = 5
	case topK < 0:
		return nil, inputErr("top_k %d < 1", topK)
	}
	if len(texts) == 0 {
		return nil, inputErr("no inputs")
	}
	var targets []int
	if opts.Targets != nil {
		var err error
		if targets, err = p.targetIDs(opts.Targets); err != nil {
			return nil, err
		}
		topK = min(topK, len(targets))
	}
	encs, err := encodeAll(m.tok, texts, nil, m.maxLen)
	if err != nil {
		return nil, err
	}
	out := make([]FillMaskOutput, len(texts))
	var masks [][]int // per text in the batch, its mask positions
	var rows []int    // the rows b·T + t of every mask of the batch
	var cand []float32
	done := 0
	err = m.batches(ctx, encs, func(ws *bert.Workspace, in bert.Input, batch []*tokenizer.Encoding) error {
		masks, rows = masks[:0], rows[:0]
		for b, e := range batch {
			var pos []int
			for t, id := range e.IDs {
				if id == m.special.mask {
					pos = append(pos, t)
					rows = append(rows, b*in.T+t)
				}
			}
			if len(pos) == 0 {
				return inputErr("input %d: no mask token (%s) found on the input", done+b, m.special.maskText)
			}
			masks = append(masks, pos)
		}
		if _, _, err := m.enc.Forward(ws, in); err != nil {
			return err
		}
		logits, err := m.enc.MaskedLM(ws, rows)
		if err != nil {
			return err
		}
		V := m.enc.Config.VocabSize
		r := 0
		for b, e := range batch {
			o := make(FillMaskOutput, len(masks[b]))
			for i, pos := range masks[b] {
				probs := logits[r*V : (r+1)*V]
				r++
				kernels.Softmax(probs, probs)
				var ids []int
				if targets != nil {
					cand = cand[:0]
					for _, id := range targets {
						cand = append(cand, probs[id])
					}
					for _, j := range topIndices(cand, topK) {
						ids = append(ids, targets[j])
					}
				} else {
					ids = topIndices(probs, topK)
				}
				preds := make([]FillMaskResult, len(ids))
				for k, id := range ids {
					preds[k], err = p.prediction(e.IDs, pos, id, float64(probs[id]), len(masks[b]) == 1)
					if err != nil {
						return err
					}
				}
				o[i] = preds
			}
			out[done+b] = o
		}
		done += len(batch)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// prediction describes token id at position pos of ids. As Hugging Face,
// the sequence leaves special tokens out only for a text with one mask
// (with several, the other masks stay visible, and [CLS] and [SEP] with
// them).
func (p *FillMask) prediction(ids []int, pos, id int, score float64, single bool) (FillMaskResult, error) {
	tok := p.m.tok
	seq := slices.Clone(ids)
	seq[pos] = id
	text, err := tok.Decode(seq, single)
	if err != nil {
		return FillMaskResult{}, err
	}
	str, err := tok.Decode([]int{id}, false)
	if err != nil {
		return FillMaskResult{}, err
	}
	return FillMaskResult{Score: score, Token: id, TokenStr: str, Sequence: text}, nil
}

// targetIDs maps targets to vocabulary ids as Hugging Face does: the token
// itself, else the first token of its encoding; duplicates go (the ids are
// sorted).
func (p *FillMask) targetIDs(targets []string) ([]int, error) {
	plain, err := p.m.tok.WithOptions(tokenizer.Options{SkipTemplate: true})
	if err != nil {
		return nil, err
	}
	var ids []int
	for _, t := range targets {
		id, ok := p.m.tok.TokenToID(t)
		if !ok {
			enc, err := plain.Encode(t)
			if err != nil || enc.Len() == 0 {
				continue // nothing meaningful to put in its place
			}
			id = enc.IDs[0]
		}
		if id < p.m.enc.Config.VocabSize && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil, inputErr("at least one target must be provided when passed (none of %q is in the vocabulary)", targets)
	}
	slices.Sort(ids)
	return ids, nil
}

// topIndices returns the indices of the k largest values of x, largest
// first (ties: lower index first); NaNs are never chosen.
func topIndices(x []float32, k int) []int {
	k = min(k, len(x))
	if k <= 0 {
		return nil
	}
	idx := make([]int, 0, k+1)
	for i, v := range x {
		if math.IsNaN(float64(v)) {
			continue
		}
		if len(idx) == k && v <= x[idx[k-1]] {
			continue
		}
		j := sort.Search(len(idx), func(j int) bool { return x[idx[j]] < v })
		idx = append(idx, 0)
		copy(idx[j+1:], idx[j:])
		idx[j] = i
		if len(idx) > k {
			idx = idx[:k]
		}
	}
	return idx
}

// CallJSON runs fill-mask calls: {"inputs": TEXT or [TEXT, …], "top_k":
// K, "targets": [TOKEN, …]}. Each gives Hugging Face's result for its
// input (one FillMaskOutput), or a list of them for a list.
func (p *FillMask) CallJSON(ctx context.Context, calls ...json.RawMessage) []Result {
	return callJSON(ctx, jsonTask[string, FillMaskOptions, FillMaskOutput]{
		args: textArgs, run: p.Run,
		shape: func(outs []FillMaskOutput, single bool, _ *FillMaskOptions) any { return one(outs, single) },
	}, calls)
}
