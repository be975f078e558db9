package data

import (
	"fmt"
)

// TokenSource is a random-access sequence of token ids, such as a
// TokenFile, an IDs slice or a TokenRange.
type TokenSource interface {
	// Len returns the number of tokens.
	Len() int
	// Read copies tokens [start, start+len(dst)) into dst.
	Read(dst []int32, start int)
}

// IDs is an in-memory TokenSource.
type IDs []int32

// Len returns len(s).
func (s IDs) Len() int { return len(s) }

// Read copies s[start:start+len(dst)] into dst.
func (s IDs) Read(dst []int32, start int) { copy(dst, s[start:start+len(dst)]) }

// TokenRange is the TokenSource of tokens [Lo, Hi) of Src, e.g. the last
// 10 % of a corpus held out for validation.
type TokenRange struct {
	Src    TokenSource // the underlying tokens
	Lo, Hi int         // the range of Src's token indices, Hi exclusive
}

// Len returns Hi-Lo.
func (r TokenRange) Len() int { return r.Hi - r.Lo }

// Read copies tokens [Lo+start, Lo+start+len(dst)) of Src into dst.
func (r TokenRange) Read(dst []int32, start int) { r.Src.Read(dst, r.Lo+start) }

// SplitTokens splits src into a training range and a validation range made
// of the last valFraction of its tokens; each must hold at least minLen
// tokens.
func SplitTokens(src TokenSource, valFraction float64, minLen int) (train, val TokenRange, err error) {
	n := src.Len()
	if !(valFraction > 0 && valFraction < 1) {
		return train, val, fmt.Errorf("data: validation fraction %v must be in (0, 1)", valFraction)
	}
	cut := n - int(valFraction*float64(n)+0.5)
	train, val = TokenRange{src, 0, cut}, TokenRange{src, cut, n}
	if train.Len() < minLen || val.Len() < minLen {
		return train, val, fmt.Errorf("data: %d tokens split %d/%d; both parts need at least %d tokens (one block)", n, train.Len(), val.Len(), minLen)
	}
	return train, val, nil
}

// BlockSampler cuts a token stream into contiguous blocks of BlockSize+1
// tokens for causal language modelling: inputs are block[:BlockSize],
// targets block[1:]. Each epoch starts the block grid at a seeded random
// offset in [0, BlockSize) (so block edges move between epochs) and visits
// the blocks in a seeded random order. Epoch e depends only on (seed, e),
// and State/SetState capture the position, so a resumed run sees the same
// blocks as an uninterrupted one.
type BlockSampler struct {
	src       TokenSource
	blockSize int
	seed      uint64
	epoch     int
	index     int
	offset    int
	perm      []int
}

// SamplerState is the resumable position of a BlockSampler or an
// IndexSampler; it marshals to JSON for a checkpoint.
type SamplerState struct {
	Epoch int `json:"epoch"` // epochs completed
	Index int `json:"index"` // blocks of the current epoch already returned
}

// NewBlockSampler returns a sampler of blocks of blockSize+1 tokens. A
// source shorter than one block is an error.
func NewBlockSampler(src TokenSource, blockSize int, seed uint64) (*BlockSampler, error) {
	if blockSize < 1 {
		return nil, fmt.Errorf("data: block size %d must be positive", blockSize)
	}
	if src.Len() < blockSize+1 {
		return nil, fmt.Errorf("data: corpus has %d tokens, fewer than one block of block_size+1 = %d", src.Len(), blockSize+1)
	}
	s := &BlockSampler{src: src, blockSize: blockSize, seed: seed}
	s.startEpoch()
	return s, nil
}

// startEpoch draws the offset and order of epoch s.epoch.
func (s *BlockSampler) startEpoch() {
	rng := NewRand(s.seed ^ uint64(s.epoch)*0xbf58476d1ce4e5b9)
	maxOff := min(s.blockSize-1, s.src.Len()-1-s.blockSize)
	s.offset = rng.IntN(maxOff + 1)
	n := (s.src.Len() - 1 - s.offset) / s.blockSize
	s.perm = rng.Perm(n)
}

// BlocksPerEpoch returns the number of blocks in the current epoch.
func (s *BlockSampler) BlocksPerEpoch() int { return len(s.perm) }

// Next fills dst (len BlockSize+1) with the next block.
func (s *BlockSampler) Next(dst []int32) {
	if len(dst) != s.blockSize+1 {
		panic(fmt.Sprintf("data: BlockSampler.Next: len(dst) = %d, want %d", len(dst), s.blockSize+1))
	}
	if s.index == len(s.perm) {
		s.epoch++
		s.index = 0
		s.startEpoch()
	}
	s.src.Read(dst, s.offset+s.perm[s.index]*s.blockSize)
	s.index++
}

// State returns the current position.
func (s *BlockSampler) State() SamplerState { return SamplerState{Epoch: s.epoch, Index: s.index} }

// SetState moves to a position returned by State.
func (s *BlockSampler) SetState(st SamplerState) error {
	if st.Epoch < 0 || st.Index < 0 {
		return fmt.Errorf("data: invalid sampler state %+v", st)
	}
	s.epoch, s.index = st.Epoch, 0
	s.startEpoch()
	if st.Index > len(s.perm) {
		return fmt.Errorf("data: sampler state index %d beyond %d blocks", st.Index, len(s.perm))
	}
	s.index = st.Index
	return nil
}

// EvalBlocks returns up to maxBlocks blocks of blockSize+1 tokens spread
// evenly over src (all non-overlapping blocks when maxBlocks ≤ 0), the
// same every call: a fixed validation set.
func EvalBlocks(src TokenSource, blockSize, maxBlocks int) ([][]int32, error) {
	if blockSize < 1 {
		return nil, fmt.Errorf("data: block size %d must be positive", blockSize)
	}
	n := (src.Len() - 1) / blockSize
	if n < 1 {
		return nil, fmt.Errorf("data: validation data has %d tokens, fewer than one block of block_size+1 = %d", src.Len(), blockSize+1)
	}
	k := n
	if maxBlocks > 0 && maxBlocks < n {
		k = maxBlocks
	}
	out := make([][]int32, k)
	for i := range out {
		b := make([]int32, blockSize+1)
		src.Read(b, (i*n/k)*blockSize)
		out[i] = b
	}
	return out, nil
}
