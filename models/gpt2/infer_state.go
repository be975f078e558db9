package gpt2

import (
	"fmt"
	"math"

	"github.com/glossa-ai/glossa/kernels"
)

// InferState is one generation session of an Inference model: the KV cache
// of a batch of rows that grow together, and every scratch buffer of a
// forward pass, sized once from batch × maxLen so that decoding allocates
// nothing. It is used by one goroutine at a time.
type InferState struct {
	m      *Inference
	B      int // rows
	MaxLen int // longest sequence, prompt included
	n      int // positions consumed per row (padding included)

	k, v  [][]float32 // per layer [B, MaxLen, C]: keys and values
	valid []bool      // [B, MaxLen]: the slot holds a real token
	seen  []int       // [B] real tokens per row: the next position id

	// Workspace for one pass over N = B·T rows (T ≤ MaxLen).
	x, h   []float32 // residual stream, normed input [N, C]
	qkv    []float32 // [N, 3C]
	att    []float32 // attention output [N, C]
	fc     []float32 // MLP hidden [N, F]
	scores []float32 // [B·H, MaxLen] attention probabilities
	last   []float32 // final-normed last positions [B, C]
	logits []float32 // [B, V]

	// probs, when set, receives each layer's attention probabilities of the
	// current pass, [B, H, T, MaxLen] per layer (tests).
	probs func(layer, b, h, t int, p []float32)
	// hidden, when set, receives each layer's input and the final-norm
	// output, [N, C] (tests).
	hidden func(i int, x []float32)

	// Arguments of the parallel attention loop, set per layer; attendFn is
	// bound once so the loop does not allocate.
	curLayer, curT int
	attendFn       func(lo, hi int)
	mv             *matvec

	// Reorder scratch, allocated on first use (beam search only).
	tmp      []float32
	tmpValid []bool
	tmpSeen  []int
}

// NewState returns an empty state for batch rows of up to maxLen positions
// (0 or more than n_positions means n_positions).
func (m *Inference) NewState(batch, maxLen int) (*InferState, error) {
	cfg := m.Config
	if maxLen <= 0 || maxLen > cfg.NumPos {
		maxLen = cfg.NumPos
	}
	if batch <= 0 {
		return nil, fmt.Errorf("gpt2: batch %d must be positive", batch)
	}
	C, F, H := cfg.NumEmbd, cfg.Inner(), cfg.NumHead
	N := batch * maxLen
	s := &InferState{m: m, B: batch, MaxLen: maxLen,
		k: make([][]float32, cfg.NumLayer), v: make([][]float32, cfg.NumLayer),
		valid: make([]bool, N), seen: make([]int, batch),
		x: make([]float32, N*C), h: make([]float32, N*C), qkv: make([]float32, N*3*C),
		att: make([]float32, N*C), fc: make([]float32, N*F), scores: make([]float32, batch*H*maxLen),
		last: make([]float32, batch*C), logits: make([]float32, batch*cfg.VocabSize)}
	for l := range s.k {
		s.k[l] = make([]float32, N*C)
		s.v[l] = make([]float32, N*C)
	}
	s.attendFn = s.attendRange
	s.mv = newMatvec()
	return s, nil
}

// Len reports the positions consumed so far (padding included).
func (s *InferState) Len() int { return s.n }

// Reset empties the state for a new batch of prompts.
func (s *InferState) Reset() {
	s.n = 0
	clear(s.seen)
	clear(s.valid)
}

// Truncate rewinds the state to its first n positions (n ≤ Len()): the
// cache of those is kept and the next Forward continues from position n.
func (s *InferState) Truncate(n int) error {
	if n < 0 || n > s.n {
		return fmt.Errorf("gpt2: Truncate(%d) with %d positions", n, s.n)
	}
	for b := range s.B {
		row := s.valid[b*s.MaxLen : (b+1)*s.MaxLen]
		clear(row[n:s.n])
		s.seen[b] = 0
		for _, ok := range row[:n] {
			if ok {
				s.seen[b]++
			}
		}
	}
	s.n = n
	return nil
}

// Forward appends ids ([B, T] row-major) to s, mask marking real tokens (nil:
// all real), and returns the logits of each row's last position, [B, V]; the
// slice is the state's buffer, valid until the next call. Position ids are
// Hugging Face's cumsum(mask)−1, so left-padded rows match their unpadded
// runs.
func (m *Inference) Forward(s *InferState, ids []int, mask []bool) ([]float32, error) {
	if s == nil || s.m != m {
		return nil, fmt.Errorf("gpt2: state belongs to another model")
	}
	B := s.B
	if len(ids) == 0 || len(ids)%B != 0 {
		return nil, fmt.Errorf("gpt2: %d ids for a batch of %d rows", len(ids), B)
	}
	T := len(ids) / B
	if mask != nil && len(mask) != len(ids) {
		return nil, fmt.Errorf("gpt2: mask has %d entries, want %d", len(mask), len(ids))
	}
	if s.n+T > s.MaxLen {
		return nil, fmt.Errorf("gpt2: %d positions exceed the state's %d", s.n+T, s.MaxLen)
	}
	V, C := m.Config.VocabSize, m.Config.NumEmbd
	for i, id := range ids {
		if id < 0 || id >= V {
			return nil, fmt.Errorf("gpt2: token id %d at %d out of range [0, %d)", id, i, V)
		}
	}
	// Embeddings of the new tokens; padded slots take position 1 like HF
	// (they are never attended to).
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			i := b*T + t
			real := mask == nil || mask[i]
			s.valid[b*s.MaxLen+s.n+t] = real
			pos := 1
			if real {
				pos = s.seen[b]
				s.seen[b]++
			}
			if pos >= m.Config.NumPos {
				return nil, fmt.Errorf("gpt2: position %d past n_positions %d", pos, m.Config.NumPos)
			}
			m.embed(s.x[i*C:(i+1)*C], ids[i], pos)
		}
	}
	s.pass(T)
	s.n += T
	return s.logits[:B*V], nil
}

// pass runs the blocks over the B·T new rows in s.x, then the final norm and
// lm_head over each row's last position.
func (s *InferState) pass(T int) {
	m := s.m
	cfg := m.Config
	B, C, F := s.B, cfg.NumEmbd, cfg.Inner()
	N := B * T
	eps := float32(cfg.LayerNormEp)
	x, h, qkv, att, fc := s.x[:N*C], s.h[:N*C], s.qkv[:N*3*C], s.att[:N*C], s.fc[:N*F]
	for l := range m.blocks {
		blk := &m.blocks[l]
		if s.hidden != nil {
			s.hidden(l, x)
		}
		// x = x + c_proj(attn(ln_1(x)))
		layerNormRows(h, x, blk.ln1W, blk.ln1B, N, C, eps)
		blk.attn.forward(s.mv, qkv, h, N)
		s.appendKV(l, T)
		s.curLayer, s.curT = l, T
		kernels.ParallelFor(B*cfg.NumHead, 1, s.attendFn)
		blk.proj.forward(s.mv, h, att, N)
		kernels.Add(x, x, h)
		// x = x + c_proj(act(c_fc(ln_2(x))))
		layerNormRows(h, x, blk.ln2W, blk.ln2B, N, C, eps)
		blk.fc.forward(s.mv, fc, h, N)
		m.activate(fc)
		blk.fcProj.forward(s.mv, h, fc, N)
		kernels.Add(x, x, h)
	}
	if s.hidden != nil {
		layerNormRows(h, x, m.lnFW, m.lnFB, N, C, eps)
		s.hidden(len(m.blocks), h)
	}
	for b := 0; b < B; b++ {
		r := b*T + T - 1
		kernels.LayerNorm(s.last[b*C:(b+1)*C], x[r*C:(r+1)*C], m.lnFW, m.lnFB, eps)
	}
	V := cfg.VocabSize
	s.mv.run(s.logits[:B*V], s.last, m.wte, m.wteBF, B, C, V)
}

// layerNormRows normalises N rows of C values.
func layerNormRows(dst, x, w, b []float32, N, C int, eps float32) {
	for r := 0; r < N; r++ {
		kernels.LayerNorm(dst[r*C:(r+1)*C], x[r*C:(r+1)*C], w, b, eps)
	}
}

// appendKV copies the keys and values of the T new positions of every row
// from s.qkv into layer l's cache.
func (s *InferState) appendKV(l, T int) {
	C := s.m.Config.NumEmbd
	for b := 0; b < s.B; b++ {
		for t := 0; t < T; t++ {
			src := s.qkv[(b*T+t)*3*C:]
			dst := (b*s.MaxLen + s.n + t) * C
			copy(s.k[l][dst:dst+C], src[C:2*C])
			copy(s.v[l][dst:dst+C], src[2*C:3*C])
		}
	}
}

// attendRange computes causal attention for the (row, head) pairs [lo, hi)
// of the current layer: each new query attends to every valid cached slot
// up to its own, and writes its head's columns of s.att.
func (s *InferState) attendRange(lo, hi int) {
	cfg := s.m.Config
	C, H := cfg.NumEmbd, cfg.NumHead
	D := C / H
	T, S0, L := s.curT, s.n, s.MaxLen
	scale := float32(1 / math.Sqrt(float64(D)))
	kc, vc := s.k[s.curLayer], s.v[s.curLayer]
	for bh := lo; bh < hi; bh++ {
		b, hd := bh/H, bh%H
		p := s.scores[bh*L : (bh+1)*L]
		valid := s.valid[b*L : (b+1)*L]
		for t := 0; t < T; t++ {
			q := s.qkv[(b*T+t)*3*C+hd*D:][:D]
			out := s.att[(b*T+t)*C+hd*D:][:D]
			n := S0 + t + 1 // visible slots
			mx := float32(math.Inf(-1))
			for j := 0; j < n; j++ {
				if !valid[j] {
					continue
				}
				sc := scale * kernels.Dot(q, kc[(b*L+j)*C+hd*D:][:D])
				p[j] = sc
				mx = max(mx, sc)
			}
			clear(out)
			if math.IsInf(float64(mx), -1) { // no real token visible: a padded query
				continue
			}
			var sum float32
			for j := 0; j < n; j++ {
				if !valid[j] {
					p[j] = 0
					continue
				}
				e := float32(math.Exp(float64(p[j] - mx)))
				p[j] = e
				sum += e
			}
			inv := 1 / sum
			for j := 0; j < n; j++ {
				if p[j] == 0 {
					continue
				}
				p[j] *= inv
				kernels.Axpy(p[j], vc[(b*L+j)*C+hd*D:][:D], out)
			}
			if s.probs != nil {
				s.probs(s.curLayer, b, hd, t, p[:n])
			}
		}
	}
}

// Reorder makes row i continue from what was row src[i], as beam search
// does between steps: its keys, values, padding and position count. The
// scratch it needs is allocated on the first call and kept.
func (s *InferState) Reorder(src []int) error {
	if len(src) != s.B {
		return fmt.Errorf("gpt2: Reorder: %d sources for %d rows", len(src), s.B)
	}
	identity := true
	for i, j := range src {
		if j < 0 || j >= s.B {
			return fmt.Errorf("gpt2: Reorder: source row %d out of range [0, %d)", j, s.B)
		}
		identity = identity && i == j
	}
	if identity {
		return nil
	}
	C := s.m.Config.NumEmbd
	row := s.MaxLen * C // one row of one layer's keys or values
	used := s.n * C     // the part of a row that holds positions
	if s.tmp == nil {
		s.tmp = make([]float32, s.B*row)
		s.tmpValid = make([]bool, len(s.valid))
		s.tmpSeen = make([]int, s.B)
	}
	permute := func(buf []float32) {
		for i := range s.B {
			copy(s.tmp[i*row:i*row+used], buf[i*row:i*row+used])
		}
		for i, j := range src {
			copy(buf[i*row:i*row+used], s.tmp[j*row:j*row+used])
		}
	}
	for l := range s.k {
		permute(s.k[l])
		permute(s.v[l])
	}
	copy(s.tmpValid, s.valid)
	copy(s.tmpSeen, s.seen)
	for i, j := range src {
		copy(s.valid[i*s.MaxLen:(i+1)*s.MaxLen], s.tmpValid[j*s.MaxLen:(j+1)*s.MaxLen])
		s.seen[i] = s.tmpSeen[j]
	}
	return nil
}
