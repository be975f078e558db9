// Package seq2seq runs encoder-decoder Transformers loaded from Hugging Face
// folders — MarianMTModel (opus-mt-*), T5ForConditionalGeneration (t5 v1.0,
// and v1.1 / flan-t5 with gated-gelu and an untied head) and
// BartForConditionalGeneration — on the shared inference layer (package
// infer), with float32 (packed) or bfloat16 weights.
//
// Use is in two steps, as in the Transformer paper:
//
//	mem, err := m.Encode(ids, mask, B)      // encoder states, and every decoder layer's
//	                                        // cross-attention keys and values, projected once
//	seqs, err := m.Generate(ctx, mem, opts) // decoding from the decoder start token
//
// mem.Decoder() is a generate.LM over the memory, so every decoding option of
// package generate works unchanged: greedy, sampling, beam search (Reorder
// moves each state row's memory index with it; rows share the memory),
// penalties and Hugging Face's logits processors. Model.GenerateOptions
// gives the folder's generation_config.json defaults in Hugging Face's
// semantics (decoder_start_token_id, forced BOS/EOS, bad_words_ids, …).
//
// The three families share this package because they share everything but
// their layers: the memory and its cross-attention cache, the decoder state,
// the generation defaults. Marian is BART's code in Hugging Face too
// (modeling_marian.py is "copied from" modeling_bart.py), so bart.go holds
// both, and t5.go holds T5.
//
// Padded batches: a source row's padding (mask false) is never attended to.
// Right-padded rows cost only their real tokens; other masks run the row up
// to its last real token with a key mask. Position ids are columns, as in
// Hugging Face's forward. The cross-attention cache holds only real source
// positions.
//
// Bad input: a source row with no real token fails with ErrEmptySource; a
// Marian or BART source longer than max_position_embeddings fails with
// ErrTooLong (truncate before adding EOS, as HF's tokenizers do; T5's
// relative positions have no limit); a folder whose config names no decoder
// start token fails to load with ErrNoDecoderStart.
//
// The letters used throughout:
//
//	B  sources (memory rows)   S  source length   T  target positions of a pass
//	N  rows of a pass          C  d_model         H  heads   D  head dim   F  FFN width
//	V  vocabulary
//
// A loaded Model and an encoded Memory are immutable and safe for concurrent
// use; a State belongs to one goroutine.
package seq2seq

import (
	"context"
	"errors"
	"fmt"

	"github.com/glossa-ai/glossa/generate"
	"github.com/glossa-ai/glossa/infer"
)

// Errors for bad input, matched with errors.Is.
var (
	// ErrEmptySource: a source row has no real token.
	ErrEmptySource = errors.New("seq2seq: empty source")
	// ErrTooLong: a source row is longer than the encoder's positions.
	ErrTooLong = errors.New("seq2seq: source longer than the encoder's positions")
	// ErrNoDecoderStart: the model folder names no decoder start token.
	ErrNoDecoderStart = errors.New("seq2seq: no decoder_start_token_id (nor bos_token_id) in config.json or generation_config.json")
)

// Model is an encoder-decoder language model.
type Model struct {
	// Family is the architecture.
	Family Family
	// Bart is the configuration of Marian and BART models (nil for T5).
	Bart *BartConfig
	// T5 is the configuration of T5 models (nil otherwise).
	T5 *T5Config
	// Generation holds the decoding defaults: generation_config.json, with
	// config.json's generation keys where it has none.
	Generation GenerationConfig
	// DecoderStartTokenID starts every decoder sequence.
	DecoderStartTokenID int
	// Tasks holds config.json's task_specific_params by task name (nil
	// when it has none); see Task.
	Tasks map[string]TaskParams

	d   dims
	net network
}

// dims are the sizes the shared machinery needs.
type dims struct {
	C, V      int // d_model, vocabulary
	H, D      int // decoder heads and head dim (cross-attention too)
	DecLayers int
	MaxSource int // most source positions; 0: unbounded
	MaxTarget int // most decoder positions
}

// network is one family's layers: the encoder, the cross-attention
// projections of the memory, and the decoder pass.
type network interface {
	// encode runs the encoder over ids (segment i holds source row
	// segs[i].Row's columns 0 … T−1, masked by masks[i] when not nil) and
	// leaves its output in x [N, C]; hidden (never nil) receives the
	// input of each layer and the output.
	encode(sc *infer.Scratch, segs []infer.Segment, masks [][]bool, ids []int, x []float32, hidden func(i int, x []float32))
	// crossKV writes the cross-attention keys | values of decoder layer l
	// for N memory rows: kv [N, 2·H·D].
	crossKV(sc *infer.Scratch, l int, kv, mem []float32, N int)
	// decode is infer.Decoder's Pass with cross-attention over mem: cross[i]
	// is segment i's memory row in it.
	decode(s *infer.State, segs []infer.Segment, ids []int, logits []float32, mem *infer.KVCache, cross []infer.Segment)
}

// VocabSize reports V.
func (m *Model) VocabSize() int { return m.d.V }

// MaxSourceLen reports the longest source (0: unbounded).
func (m *Model) MaxSourceLen() int { return m.d.MaxSource }

// MaxTargetLen reports the most decoder positions, the start token
// included.
func (m *Model) MaxTargetLen() int { return m.d.MaxTarget }

// Memory is an encoded batch of sources: the encoder's output and, for
// every decoder layer, the cross-attention keys and values of the real
// source positions. It is immutable and may serve many decoder states.
type Memory struct {
	m      *Model
	B, S   int       // sources and padded length
	hidden []float32 // [B, S, C], zero at padding
	lens   []int     // real tokens per row
	cross  *infer.KVCache
}

// Rows reports B.
func (mem *Memory) Rows() int { return mem.B }

// Hidden returns the encoder's last hidden state [B, S, C] (zero at
// padding). The slice is the memory's own; do not modify it.
func (mem *Memory) Hidden() []float32 { return mem.hidden }

// Len reports the real tokens of source row b.
func (mem *Memory) Len(b int) int { return mem.lens[b] }

// Model returns the model that encoded the memory.
func (mem *Memory) Model() *Model { return mem.m }

// Encode runs the encoder over ids [B, S] row-major, mask (nil: all true)
// marking real tokens, and returns the memory the decoder attends to.
func (m *Model) Encode(ids []int, mask []bool, B int) (*Memory, error) {
	return m.encode(ids, mask, B, nil)
}

// EncodeRows encodes sources of different lengths, right-padding them.
func (m *Model) EncodeRows(src [][]int) (*Memory, error) {
	if len(src) == 0 {
		return nil, errors.New("seq2seq: no sources")
	}
	S := 0
	for _, r := range src {
		S = max(S, len(r))
	}
	if S == 0 {
		return nil, fmt.Errorf("%w: row 0 has no tokens", ErrEmptySource)
	}
	ids, mask := make([]int, len(src)*S), make([]bool, len(src)*S)
	for b, r := range src {
		copy(ids[b*S:], r)
		for t := range r {
			mask[b*S+t] = true
		}
	}
	return m.encode(ids, mask, len(src), nil)
}

// EncodeTrace is Encode that also returns the encoder's hidden states, L+1
// tensors [B, S, C] as HF's output_hidden_states (the embedding output, the
// input of each further layer, the final output; T5's after its final norm),
// zero at padding. It allocates; it is meant for tests and inspection.
func (m *Model) EncodeTrace(ids []int, mask []bool, B int) (*Memory, [][]float32, error) {
	var hs [][]float32
	var rowsOf []int // pass row → [B·S] position
	mem, err := m.encode(ids, mask, B, func(i int, x []float32, pos []int) {
		for len(hs) <= i {
			hs = append(hs, make([]float32, len(ids)*m.d.C))
		}
		rowsOf = pos
		C := m.d.C
		for r, p := range rowsOf {
			if p >= 0 {
				copy(hs[i][p*C:(p+1)*C], x[r*C:(r+1)*C])
			}
		}
	})
	return mem, hs, err
}

func (m *Model) encode(ids []int, mask []bool, B int, trace func(i int, x []float32, pos []int)) (*Memory, error) {
	switch {
	case B <= 0 || len(ids) == 0 || len(ids)%B != 0:
		return nil, fmt.Errorf("seq2seq: %d source ids do not split into %d rows", len(ids), B)
	case mask != nil && len(mask) != len(ids):
		return nil, fmt.Errorf("seq2seq: mask has %d entries for %d ids", len(mask), len(ids))
	}
	S, C := len(ids)/B, m.d.C
	real := func(i int) bool { return mask == nil || mask[i] }
	for _, id := range ids {
		if id < 0 || id >= m.d.V {
			return nil, fmt.Errorf("seq2seq: source token id %d outside the vocabulary of %d", id, m.d.V)
		}
	}
	// Row b runs columns [0, end); a key mask only when it has holes.
	ends, lens := make([]int, B), make([]int, B)
	masks := make([][]bool, B)
	for b := range B {
		for t := range S {
			if real(b*S + t) {
				lens[b]++
				ends[b] = t + 1
			}
		}
		switch {
		case lens[b] == 0:
			return nil, fmt.Errorf("%w: source row %d has no real token", ErrEmptySource, b)
		case m.d.MaxSource > 0 && ends[b] > m.d.MaxSource:
			return nil, fmt.Errorf("%w: source row %d has %d positions, the encoder %d (max_position_embeddings)",
				ErrTooLong, b, ends[b], m.d.MaxSource)
		}
		if lens[b] < ends[b] {
			masks[b] = mask[b*S : b*S+ends[b]]
		}
	}
	rows := make([]int, B)
	segs := make([]infer.Segment, B)
	N := 0
	for b := range B {
		rows[b] = b
		segs[b] = infer.Segment{Row: b, Off: N, T: ends[b], Keys: ends[b]}
		N += ends[b]
	}
	var sc infer.Scratch
	x := make([]float32, N*C)
	pass := make([]int, 0, N)
	pos := make([]int, 0, N) // [B·S] position of each pass row; −1 at padding
	for b := range B {
		for t := range ends[b] {
			pass = append(pass, ids[b*S+t])
			if real(b*S + t) {
				pos = append(pos, b*S+t)
			} else {
				pos = append(pos, -1)
			}
		}
	}
	hidden := func(int, []float32) {}
	if trace != nil {
		hidden = func(i int, x []float32) { trace(i, x, pos) }
	}
	m.net.encode(&sc, segs, masks, pass, x, hidden)

	mem := &Memory{m: m, B: B, S: S, hidden: make([]float32, B*S*C), lens: lens}
	// The memory's real rows, compacted, feed the cross-attention cache.
	Nv, maxLen := 0, 0
	for b := range B {
		maxLen = max(maxLen, lens[b])
	}
	compact := make([]float32, 0, len(x))
	for r, p := range pos {
		if p >= 0 {
			copy(mem.hidden[p*C:(p+1)*C], x[r*C:(r+1)*C])
			compact = append(compact, x[r*C:(r+1)*C]...)
			Nv++
		}
	}
	HD := m.d.H * m.d.D
	var err error
	mem.cross, err = infer.NewKVCache(m.d.DecLayers, B, m.d.H, m.d.D, maxLen)
	if err != nil {
		return nil, err
	}
	vsegs, _ := mem.cross.Plan(nil, rows, lens)
	kv := make([]float32, Nv*2*HD)
	for l := range m.d.DecLayers {
		m.net.crossKV(&sc, l, kv, compact, Nv)
		mem.cross.Put(l, vsegs, kv, kv[HD:], 2*HD)
	}
	mem.cross.Commit(vsegs)
	return mem, nil
}

// Decoder returns the decoder over mem: a generate.LM[*State] whose states'
// rows read the memory's rows in order, each repeated batch / mem.Rows()
// times (beam b·N+i reads source b).
func (mem *Memory) Decoder() *Decoder { return &Decoder{mem: mem} }

// Decoder is the decoder of a Model over one Memory. It implements
// generate.LM[*State].
type Decoder struct{ mem *Memory }

// VocabSize reports V.
func (d *Decoder) VocabSize() int { return d.mem.m.d.V }

// MaxLen reports the most positions a decoder row holds (Marian and BART:
// max_position_embeddings; T5: n_positions, 512 when absent).
func (d *Decoder) MaxLen() int { return d.mem.m.d.MaxTarget }

// NewState returns an empty state of batch rows of up to maxLen positions
// (0 or more than MaxLen: MaxLen). batch must be a multiple of the memory's
// rows: row r reads memory row r / (batch / mem.Rows()).
func (d *Decoder) NewState(batch, maxLen int) (*State, error) {
	p, err := d.pass(batch)
	if err != nil {
		return nil, err
	}
	st, err := infer.NewState(p, batch, maxLen)
	if err != nil {
		return nil, err
	}
	return &State{st: st, p: p}, nil
}

// pass returns the infer.Decoder of a state of batch rows.
func (d *Decoder) pass(batch int) (*pass, error) {
	B := d.mem.B
	if batch <= 0 || batch%B != 0 {
		return nil, fmt.Errorf("seq2seq: a state of %d rows over a memory of %d sources (want a multiple)", batch, B)
	}
	p := &pass{m: d.mem.m, mem: d.mem, memRow: make([]int, batch)}
	for r := range batch {
		p.memRow[r] = r / (batch / B)
	}
	return p, nil
}

// Forward appends ids [rows, T] to the state's rows, mask (nil: all true)
// marking real tokens (false: left padding, skipped), and returns each
// row's next-token logits [rows, V], valid until the next call. Positions
// are each row's count of real tokens.
func (d *Decoder) Forward(s *State, ids []int, mask []bool) ([]float32, error) {
	if s == nil || s.p.mem != d.mem {
		return nil, errors.New("seq2seq: state does not belong to this decoder")
	}
	return s.st.Forward(ids, mask)
}

// State is one decoding session over a Memory: the decoder's
// self-attention cache, each row's memory row, and scratch.
type State struct {
	st *infer.State
	p  *pass
}

// Rows reports the number of rows.
func (s *State) Rows() int { return s.st.Rows() }

// Len reports the longest row's positions.
func (s *State) Len() int { return s.st.Len() }

// Reset empties every row (each keeps its memory row).
func (s *State) Reset() { s.st.Reset() }

// MemoryRow reports the memory row that state row r attends to.
func (s *State) MemoryRow(r int) int { return s.p.memRow[r] }

// Reorder makes row i continue from what was row src[i], its memory row
// included, as beam search does between steps.
func (s *State) Reorder(src []int) error {
	if err := s.st.Reorder(src); err != nil {
		return err
	}
	s.p.tmp = append(s.p.tmp[:0], s.p.memRow...)
	for i, j := range src {
		s.p.memRow[i] = s.p.tmp[j]
	}
	return nil
}

// pass is the infer.Decoder of one state: the model's decoder bound to a
// memory and the state's row → memory row map.
type pass struct {
	m      *Model
	mem    *Memory
	memRow []int
	tmp    []int
	cross  []infer.Segment
}

func (p *pass) Shape() infer.DecoderShape {
	d := p.m.d
	return infer.DecoderShape{Layers: d.DecLayers, KVHeads: d.H, Heads: d.H, HeadDim: d.D, Vocab: d.V, MaxLen: d.MaxTarget}
}

func (p *pass) Pass(s *infer.State, segs []infer.Segment, ids []int, logits []float32) {
	p.cross = p.cross[:0]
	for _, sg := range segs {
		r := p.memRow[sg.Row]
		p.cross = append(p.cross, infer.Segment{Row: r, Off: sg.Off, T: sg.T, Keys: p.mem.cross.Len(r)})
	}
	p.m.net.decode(s, segs, ids, logits, p.mem.cross, p.cross)
}

// GenerateOptions returns the model's decoding defaults as generate.Options
// (see GenerationConfig.Options); adjust them and pass them to Generate.
func (m *Model) GenerateOptions() generate.Options { return m.Generation.Options() }

// Generate decodes every source of mem from the decoder start token and
// returns one sequence per source (opts.NumReturnSequences per source with
// beam search or sampling, source b's j-th at b·R+j): the generated ids
// after the start token, a final stop token included. Options come as they
// are; start from GenerateOptions for the folder's defaults.
func (m *Model) Generate(ctx context.Context, mem *Memory, opts generate.Options) ([]generate.Sequence, error) {
	if mem == nil || mem.m != m {
		return nil, errors.New("seq2seq: memory was not encoded by this model")
	}
	prompts := make([][]int, mem.B)
	for b := range prompts {
		prompts[b] = []int{m.DecoderStartTokenID}
	}
	return generate.Generate(ctx, mem.Decoder(), prompts, opts)
}

// Trace holds a teacher-forced decoder pass's results at every position:
// the logits [B, T, V] and L+1 hidden states [B, T, C] (the embedding
// output, the input of each further layer, and the last — T5: after the
// final norm — as HF's decoder_hidden_states).
type Trace = infer.Recording

// ForwardTrace runs the decoder over ids [mem.Rows(), T] (all real, as HF's
// forward without a decoder mask) with row b attending to source b, and
// returns the logits and hidden states of every position. It allocates; it
// is meant for tests and inspection.
func (m *Model) ForwardTrace(mem *Memory, ids []int) (*Trace, error) {
	p, err := mem.Decoder().pass(mem.B)
	if err != nil {
		return nil, err
	}
	return infer.Run(p, ids, nil, mem.B, infer.RecordLogits|infer.RecordHidden)
}
