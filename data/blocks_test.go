package data

import (
	"reflect"
	"strings"
	"testing"
)

func seqIDs(n int) IDs {
	s := make(IDs, n)
	for i := range s {
		s[i] = int32(i)
	}
	return s
}

func TestBlockSampler(t *testing.T) {
	src := seqIDs(1000)
	const bs = 16
	s, err := NewBlockSampler(src, bs, 1)
	if err != nil {
		t.Fatal(err)
	}
	n := s.BlocksPerEpoch()
	if n < (1000-1-15)/bs || n > (1000-1)/bs {
		t.Fatalf("blocks per epoch %d", n)
	}
	starts := map[int32]bool{}
	blk := make([]int32, bs+1)
	var first [][]int32
	for i := range n {
		s.Next(blk)
		for j := 1; j < len(blk); j++ {
			if blk[j] != blk[j-1]+1 {
				t.Fatalf("block %d not contiguous: %v", i, blk)
			}
		}
		if starts[blk[0]] {
			t.Fatalf("block start %d repeated within an epoch", blk[0])
		}
		starts[blk[0]] = true
		first = append(first, append([]int32(nil), blk...))
	}
	off := first[0][0] % bs
	for st := range starts {
		if st%bs != off {
			t.Fatalf("block starts not on one grid: %d vs offset %d", st, off)
		}
	}
	// Resume mid-epoch-2 equals an uninterrupted run.
	var rest [][]int32
	for range n + 5 {
		s.Next(blk)
		rest = append(rest, append([]int32(nil), blk...))
	}
	r, _ := NewBlockSampler(src, bs, 1)
	if err := r.SetState(SamplerState{Epoch: 1, Index: 3}); err != nil {
		t.Fatal(err)
	}
	for i := 3; i < len(rest); i++ {
		r.Next(blk)
		if !reflect.DeepEqual(blk, rest[i]) {
			t.Fatalf("resumed block %d = %v, want %v", i, blk, rest[i])
		}
	}
	if r.State() != s.State() || s.State().Epoch != 2 {
		t.Errorf("state %+v, want %+v in epoch 2", r.State(), s.State())
	}
	// Same seed, same stream; other seed, other order.
	a, _ := NewBlockSampler(src, bs, 1)
	b, _ := NewBlockSampler(src, bs, 2)
	a.Next(blk)
	if !reflect.DeepEqual(blk, first[0]) {
		t.Error("same seed, different first block")
	}
	diff := false
	for i := range n {
		b.Next(blk)
		diff = diff || !reflect.DeepEqual(blk, first[i])
	}
	if !diff {
		t.Error("different seeds, same order")
	}
}

func TestBlockSamplerErrors(t *testing.T) {
	if _, err := NewBlockSampler(seqIDs(16), 16, 1); err == nil || !strings.Contains(err.Error(), "fewer than one block") {
		t.Errorf("corpus smaller than a block: err = %v", err)
	}
	s, err := NewBlockSampler(seqIDs(17), 16, 1) // exactly one block
	if err != nil {
		t.Fatal(err)
	}
	blk := make([]int32, 17)
	for range 3 {
		s.Next(blk)
		if blk[0] != 0 || blk[16] != 16 {
			t.Fatalf("only block = %v", blk)
		}
	}
	if _, err := NewBlockSampler(seqIDs(10), 0, 1); err == nil {
		t.Error("block size 0: no error")
	}
	if _, _, err := SplitTokens(seqIDs(100), 0.1, 17); err == nil {
		t.Error("validation part smaller than a block: no error")
	}
	tr, va, err := SplitTokens(seqIDs(1000), 0.1, 17)
	if err != nil || tr.Len() != 900 || va.Len() != 100 {
		t.Fatalf("SplitTokens: %v %d %d", err, tr.Len(), va.Len())
	}
	ev, err := EvalBlocks(va, 16, 3)
	if err != nil || len(ev) != 3 || ev[0][0] != 900 || ev[2][16] != 900+4*16+16 {
		t.Errorf("EvalBlocks: %v %v", err, ev)
	}
	if _, err := EvalBlocks(seqIDs(5), 16, 0); err == nil {
		t.Error("EvalBlocks on short data: no error")
	}
}
