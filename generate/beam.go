package generate

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/glossa-ai/glossa/kernels"
)

// Beam search, as Hugging Face's generate(num_beams=N, do_sample=False)
// with transformers 4.46's BeamSearchScorer:
//
//   - each prompt runs N beams; at the start only the first beam is live
//     (the others score −1e9), so the first step picks N distinct tokens;
//   - a beam's score is the sum of its tokens' log-probabilities
//     (log_softmax of the logits, then the penalties and logits processors);
//   - each step ranks all N·V continuations of a prompt and walks the best
//     (1 + number of stop tokens)·N (at least 2N): a stop token among the
//     top N closes a hypothesis scored sum / generated_len^length_penalty,
//     where generated_len counts the generated tokens, the stop token
//     included; other candidates become the next beams until N are chosen;
//   - a prompt is done when N hypotheses are closed and either
//     EarlyStopping is set or the best candidate's sum, divided by the
//     generated length after this step ^length_penalty (with
//     EarlyStoppingNever and length_penalty > 0: by MaxNewTokens^
//     length_penalty, the longest a beam can get), cannot beat the worst of
//     them;
//   - at the length limit the running beams are closed too; the best
//     NumReturnSequences hypotheses are the answer, best first (among equal
//     scores the later one first, as HF's sort-and-pop).

type hypothesis struct {
	tokens []int
	score  float64
}

// beamHyps keeps the N best closed hypotheses of one prompt.
type beamHyps struct {
	n      int
	lp     float64
	early  bool
	never  bool // early_stopping="never"
	maxNew int
	hyps   []hypothesis
	done   bool
}

func (h *beamHyps) add(tokens []int, sum float64, genLen int) {
	score := sum / math.Pow(float64(max(genLen, 1)), h.lp)
	if len(h.hyps) >= h.n && score <= h.worst() {
		return
	}
	h.hyps = append(h.hyps, hypothesis{append([]int(nil), tokens...), score})
	if len(h.hyps) > h.n {
		w := 0
		for i, x := range h.hyps {
			if x.score < h.hyps[w].score {
				w = i
			}
		}
		h.hyps = slices.Delete(h.hyps, w, w+1)
	}
}

func (h *beamHyps) worst() float64 {
	w := math.Inf(1)
	for _, x := range h.hyps {
		w = math.Min(w, x.score)
	}
	return w
}

// isDone reports whether no running beam can improve the hypotheses, given
// the best candidate's sum after a step that leaves genLen generated tokens.
func (h *beamHyps) isDone(bestSum float64, genLen int) bool {
	if len(h.hyps) < h.n {
		return false
	}
	if h.early {
		return true
	}
	if h.never && h.lp > 0 {
		genLen = h.maxNew
	}
	return h.worst() >= bestSum/math.Pow(float64(max(genLen, 1)), h.lp)
}

// best returns the k best hypotheses, best first; among equal scores the
// later one comes first (HF sorts by score and pops from the end).
func (h *beamHyps) best(k int) []hypothesis {
	out := slices.Clone(h.hyps)
	slices.Reverse(out)
	slices.SortStableFunc(out, func(a, b hypothesis) int {
		switch {
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		}
		return 0
	})
	return out[:min(k, len(out))]
}

type candidate struct {
	score float64
	beam  int
	token int
}

func beamSearch[S any](ctx context.Context, m LM[S], prompts [][]int, opts Options) ([]Sequence, error) {
	N, B, V := opts.NumBeams, len(prompts), m.VocabSize()
	R := B * N // state rows: beam i of prompt b is row b·N+i
	P := 0
	for _, p := range prompts {
		P = max(P, len(p))
	}
	maxNew := newTokens(m.MaxLen(), P, opts.MaxNewTokens)
	st, err := m.NewState(R, P+maxNew-1)
	if err != nil {
		return nil, err
	}
	re, ok := any(st).(Reorderer)
	if !ok {
		return nil, fmt.Errorf("generate: beam search needs a state with Reorder; %T has none", st)
	}
	ids, mask := make([]int, R*P), make([]bool, R*P)
	for b, p := range prompts {
		for i := range N {
			r := b*N + i
			copy(ids[r*P+P-len(p):], p)
			for t := P - len(p); t < P; t++ {
				mask[r*P+t] = true
			}
		}
	}
	scores := make([]float64, R)
	seqs := make([][]int, R)
	for r := range R {
		if r%N != 0 {
			scores[r] = -1e9
		}
	}
	groups := make([]*beamHyps, B)
	for b := range groups {
		groups[b] = &beamHyps{n: N, lp: opts.LengthPenalty, early: opts.EarlyStopping && !opts.EarlyStoppingNever,
			never: opts.EarlyStoppingNever, maxNew: maxNew}
	}
	isStop := func(id int) bool { return slices.Contains(opts.StopTokens, id) }
	proc := newProcessor(&opts, maxNew)
	lp := make([]float32, V)
	ctxIDs := []int{}
	K := max(2, 1+len(opts.StopTokens)) * N // candidates walked per prompt
	top := make([]candidate, 0, K+1)
	src, next := make([]int, R), make([]int, R)
	newScores, newSeqs := make([]float64, R), make([][]int, R)

	logits, err := m.Forward(st, ids, mask)
	if err != nil {
		return nil, err
	}
	cancelled := error(nil)
	for step := 0; step < maxNew; step++ {
		for b, g := range groups {
			if g.done {
				for i := range N {
					r := b*N + i
					src[r], next[r], newScores[r], newSeqs[r] = r, 0, scores[r], seqs[r]
				}
				continue
			}
			top = top[:0]
			for i := range N {
				r := b*N + i
				kernels.LogSoftmax(lp, logits[r*V:(r+1)*V])
				ctxIDs = append(append(ctxIDs[:0], prompts[b]...), seqs[r]...)
				ApplyPenalties(lp, ctxIDs, opts.SamplingOptions)
				proc.apply(lp, ctxIDs, len(prompts[b]))
				for tok, v := range lp {
					c := candidate{scores[r] + float64(v), i, tok}
					if len(top) == K && !better(c, top[K-1]) {
						continue
					}
					// Insert in order (ties: lower beam, then lower token, as a
					// stable ranking of the flattened N·V scores).
					j := len(top)
					if j < K {
						top = append(top, c)
					} else {
						j--
					}
					for ; j > 0 && better(c, top[j-1]); j-- {
						top[j] = top[j-1]
					}
					top[j] = c
				}
			}
			k := 0
			for rank, c := range top {
				r := b*N + c.beam
				if isStop(c.token) {
					if rank < N {
						g.add(append(slices.Clip(seqs[r]), c.token), c.score, len(seqs[r])+1)
					}
					continue
				}
				d := b*N + k
				src[d], next[d], newScores[d] = r, c.token, c.score
				newSeqs[d] = append(slices.Clip(seqs[r]), c.token)
				if k++; k == N {
					break
				}
			}
			for ; k < N; k++ { // fewer live candidates than beams: park the rest
				d := b*N + k
				src[d], next[d], newScores[d] = b*N, 0, -1e9
				newSeqs[d] = append(slices.Clip(seqs[b*N]), 0)
			}
			g.done = g.isDone(top[0].score, step+1)
		}
		copy(scores, newScores)
		copy(seqs, newSeqs)
		if all(groups) || step+1 >= maxNew {
			break
		}
		if cancelled = ctx.Err(); cancelled != nil {
			break
		}
		if err := re.Reorder(src); err != nil {
			return nil, err
		}
		if logits, err = m.Forward(st, next, nil); err != nil {
			return nil, err
		}
	}
	nret := max(opts.NumReturnSequences, 1)
	out := make([]Sequence, 0, B*nret)
	for b, g := range groups {
		reason := FinishStop
		if !g.done {
			for i := range N {
				r := b*N + i
				g.add(seqs[r], scores[r], len(seqs[r]))
			}
			reason = FinishLength
			if cancelled != nil {
				reason = FinishCancelled
			}
		}
		for _, h := range g.best(nret) {
			s := Sequence{Tokens: h.tokens, Reason: reason, Score: h.score}
			if opts.Decoder != nil {
				full, err := opts.Decoder.Decode(append(slices.Clip(prompts[b]), h.tokens...), true)
				pre, err2 := opts.Decoder.Decode(prompts[b], true)
				if err == nil && err2 == nil && len(pre) <= len(full) && full[:len(pre)] == pre {
					s.Text = full[len(pre):]
				}
				if opts.OnText != nil && s.Text != "" {
					opts.OnText(len(out), s.Text)
				}
			}
			out = append(out, s)
		}
	}
	return out, cancelled
}

// better ranks candidates: higher score first, then lower beam, then lower
// token.
func better(a, b candidate) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	if a.beam != b.beam {
		return a.beam < b.beam
	}
	return a.token < b.token
}

func all(gs []*beamHyps) bool {
	for _, g := range gs {
		if !g.done {
			return false
		}
	}
	return true
}
