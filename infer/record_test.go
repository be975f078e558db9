package infer

import (
	"math"
	"testing"
)

// toyDecoder is a one-layer, one-head decoder of width 1 whose residual
// stream is id + 10·position, attending causally to itself; its head
// writes x, 2x, … 8x as the eight logits.
type toyDecoder struct{ attn Attention }

func (d *toyDecoder) Shape() DecoderShape {
	return DecoderShape{Layers: 1, KVHeads: 1, HeadDim: 1, Vocab: 8, MaxLen: 8}
}

func (d *toyDecoder) Pass(s *State, segs []Segment, ids []int, logits []float32) {
	N := len(ids)
	x, att := s.Buf(0, N), s.Buf(1, N)
	for _, sg := range segs {
		for t := range sg.T {
			x[sg.Off+t] = float32(ids[sg.Off+t] + 10*(sg.Start+t))
		}
	}
	s.Hidden(0, x)
	s.Cache.Put(0, segs, x, x, 1)
	d.attn.Forward(&s.Scratch, att, 1, x, 1, s.Cache, 0, segs, s.Attend(0))
	s.Logits(logits, x, 1, segs, nil, toyHead{})
}

type toyHead struct{}

func (toyHead) Forward(_ *Scratch, y, x []float32, N int) {
	for i := range N {
		for j := range 8 {
			y[8*i+j] = float32(j+1) * x[i]
		}
	}
}

// Run scatters every recorded value to its [B, T] position: left padding
// stays 0, positions count real tokens, attention covers the real keys.
func TestRunPlacesRows(t *testing.T) {
	d := &toyDecoder{attn: Attention{Heads: 1, KVHeads: 1, HeadDim: 1, Causal: true}}
	ids := []int{0, 1, 2, 3, 0, 0, 5, 6}
	mask := []bool{false, true, true, true, false, false, true, true}
	rec, err := Run(d, ids, mask, 2, RecordAll)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0, 1, 12, 23, 0, 0, 5, 16} // id + 10·(real tokens before it)
	for i, w := range want {
		if rec.Hidden[0][i] != w || rec.Hidden[1][i] != w || rec.Logits[8*i] != w || rec.Logits[8*i+7] != 8*w {
			t.Errorf("position %d: hidden %v, %v, logits %v, want %v", i, rec.Hidden[0][i], rec.Hidden[1][i], rec.Logits[8*i:8*i+8], w)
		}
	}
	for b := range 2 {
		for q := range 4 {
			row := rec.Attentions[0][(b*4+q)*4:][:4]
			sum := float32(0)
			for k, p := range row {
				if real := mask[b*4+k] && mask[b*4+q] && k <= q; !real && p != 0 {
					t.Errorf("row %d query %d: probability %v at key %d", b, q, p, k)
				}
				sum += p
			}
			if mask[b*4+q] && math.Abs(float64(sum)-1) > 1e-6 {
				t.Errorf("row %d query %d: probabilities sum to %v", b, q, sum)
			}
		}
	}
	if _, err := Run(d, ids, mask, 3, RecordAll); err == nil {
		t.Error("8 ids ran as 3 rows")
	}
	if _, err := Run(d, make([]int, 18), nil, 2, RecordAll); err == nil {
		t.Error("9 positions ran on a model of 8")
	}
}
