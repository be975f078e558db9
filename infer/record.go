package infer

import "fmt"

// Recording holds a pass's results at every position of a [B, T] batch, as
// Hugging Face's output_hidden_states and output_attentions give them; at
// padding positions everything is 0.
type Recording struct {
	B, T int
	// Logits of every position, [B, T, Vocab].
	Logits []float32
	// Hidden holds Layers+1 tensors [B, T, C]: the input of each layer (the
	// embeddings first) and the final-norm output.
	Hidden [][]float32
	// Attentions holds Layers tensors [B, H, T, T] of softmax probabilities
	// (masked and future keys 0).
	Attentions [][]float32
}

// Record selects what a Recording holds.
type Record uint8

// The parts of a Recording.
const (
	RecordLogits Record = 1 << iota
	RecordHidden
	RecordAttentions
	RecordAll = RecordLogits | RecordHidden | RecordAttentions
)

// Run runs ids [B, T] (mask marks real tokens; nil: all) through a fresh
// state of d in one pass and records what want selects at the real
// positions. Position ids count each row's real tokens, which equals
// Hugging Face's default arange(T) for right-padded rows. It allocates: it
// is meant for tests and inspection, not for decoding.
func Run(d Decoder, ids []int, mask []bool, B int, want Record) (*Recording, error) {
	if B <= 0 || len(ids) == 0 || len(ids)%B != 0 {
		return nil, fmt.Errorf("infer: %d ids do not split into %d rows", len(ids), B)
	}
	sh, T := d.Shape(), len(ids)/B
	if T > sh.MaxLen {
		return nil, fmt.Errorf("infer: %d positions exceed the model's %d", T, sh.MaxLen)
	}
	s, err := NewState(d, B, T)
	if err != nil {
		return nil, err
	}
	s.Chunk = T
	// The pass holds only real tokens: pass row r is position at[r] of the
	// batch, and segment i is the i-th batch row with a real token.
	var at, rows []int
	orig := make([][]int, B) // the columns of row b's real tokens
	for b := range B {
		for t := range T {
			if mask == nil || mask[b*T+t] {
				at = append(at, b*T+t)
				orig[b] = append(orig[b], t)
			}
		}
		if len(orig[b]) > 0 {
			rows = append(rows, b)
		}
	}
	rec, tr := &Recording{B: B, T: T}, &Trace{}
	scatter := func(dst, src []float32, width int) {
		for r, p := range at {
			copy(dst[p*width:(p+1)*width], src[r*width:(r+1)*width])
		}
	}
	if want&RecordHidden != 0 {
		tr.Hidden = func(i int, x []float32) {
			C := len(x) / len(at)
			for len(rec.Hidden) <= i {
				rec.Hidden = append(rec.Hidden, make([]float32, B*T*C))
			}
			scatter(rec.Hidden[i], x, C)
		}
	}
	if want&RecordLogits != 0 {
		rec.Logits = make([]float32, B*T*sh.Vocab)
		tr.Logits = func(l []float32) { scatter(rec.Logits, l, sh.Vocab) }
	}
	if want&RecordAttentions != 0 {
		H := sh.Heads
		if H == 0 {
			H = sh.KVHeads
		}
		for range sh.Layers {
			rec.Attentions = append(rec.Attentions, make([]float32, B*H*T*T))
		}
		tr.Probs = func(l, seg, h, t int, p []float32) { // disjoint rows: safe from many goroutines
			b := rows[seg]
			row := rec.Attentions[l][((b*H+h)*T+orig[b][t])*T:][:T]
			for j, pj := range p {
				row[orig[b][j]] = pj
			}
		}
	}
	s.Trace = tr
	if _, err := s.Forward(ids, mask); err != nil {
		return nil, err
	}
	return rec, nil
}
