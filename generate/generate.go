package generate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// LM is a causal language model that the decoding loop can drive. S is the
// model's per-session state (its KV cache and scratch buffers): a session
// holds a batch of sequences that grow together.
//
// Forward appends T = len(ids)/B tokens to each of the B rows of s and returns
// the next-token logits of each row's last position, [B, VocabSize()]
// row-major; the slice may be the state's own buffer, valid until the next
// call. mask (nil: all true) marks real tokens; false marks left padding,
// which must never be attended to, and each row's position ids count only its
// real tokens (Hugging Face's cumsum(mask)−1).
//
// models/llama's *Model implements LM[*llama.State]; an encoder-decoder or a
// model without a cache can implement it by recomputing inside Forward.
type LM[S any] interface {
	// VocabSize is the number of logits Forward returns per row.
	VocabSize() int
	// MaxLen is the longest sequence (prompt included) a state can hold.
	MaxLen() int
	// NewState returns an empty state (KV cache) for batch rows of up to
	// maxLen tokens.
	NewState(batch, maxLen int) (S, error)
	// Forward appends ids ([batch, n] row-major) to s, with mask marking
	// the real (non-padding) positions, and returns the logits of the last
	// position of every row, [batch, VocabSize()].
	Forward(s S, ids []int, mask []bool) ([]float32, error)
}

// Reorderer is implemented by states that beam search can use: row i
// continues from what was row src[i].
type Reorderer interface {
	// Reorder makes row i a copy of what was row src[i].
	Reorder(src []int) error
}

// Decoder turns token ids into text; *tokenizer.Tokenizer and the
// tokenizer models implement it.
type Decoder interface {
	// Decode returns the text of ids, leaving out special tokens when
	// skipSpecial is set.
	Decode(ids []int, skipSpecial bool) (string, error)
}

// Options configure Generate. The zero value decodes greedily until the
// model's maximum length.
type Options struct {
	SamplingOptions
	// Seed seeds the sampling RNG (row r of a batch uses Seed+r).
	Seed uint64 `json:"seed"`
	// MaxNewTokens bounds the tokens generated per row. 0 means until the
	// model's maximum length.
	MaxNewTokens int `json:"max_new_tokens"`
	// StopTokens end a row when generated (EOS ids). The token is kept in the
	// row's Tokens but not in its Text.
	StopTokens []int `json:"stop_tokens"`
	// StopStrings end a row when its generated text contains one; Text is cut
	// before it. Needs Decoder.
	StopStrings []string `json:"stop"`
	// NumBeams > 1 selects beam search (deterministic; the sampling options
	// other than the penalties are ignored). 0 or 1 means no beam search.
	NumBeams int `json:"num_beams"`
	// LengthPenalty is the exponent of the generated length that divides a
	// finished beam's log-probability (HF's length_penalty). 0 means 1.
	LengthPenalty float64 `json:"length_penalty"`
	// EarlyStopping ends beam search as soon as NumBeams hypotheses are
	// finished (HF early_stopping=True); otherwise it stops when no running
	// beam can beat the finished ones (HF's default heuristic).
	EarlyStopping bool `json:"early_stopping"`

	// EarlyStoppingNever is Hugging Face's early_stopping="never": beam
	// search stops only when no running beam, at the longest length it may
	// reach, can beat the worst finished hypothesis (canonical beam search).
	// It overrides EarlyStopping.
	EarlyStoppingNever bool `json:"early_stopping_never"`
	// NumReturnSequences is the number of sequences returned per prompt
	// (HF's num_return_sequences): with beam search the best ones, best
	// first (at most NumBeams); with sampling that many independent samples
	// (the prompt repeated, row r seeded Seed+r). Prompt b's j-th sequence
	// is then Generate's element b·NumReturnSequences+j. Greedy decoding
	// returns one. 0 means 1.
	NumReturnSequences int `json:"num_return_sequences"`

	// The logits processors (process.go), after the penalties. Their zero
	// values disable them.

	// MinLength suppresses the stop tokens while a row holds fewer tokens,
	// its prompt included (HF's min_length; an encoder-decoder's prompt is
	// its decoder start token).
	MinLength int `json:"min_length"`
	// MinNewTokens suppresses the stop tokens until a row has generated
	// this many (HF's min_new_tokens).
	MinNewTokens int `json:"min_new_tokens"`
	// NoRepeatNGramSize bans every token that would repeat an n-gram of
	// this size already in the row, prompt included (HF's
	// no_repeat_ngram_size).
	NoRepeatNGramSize int `json:"no_repeat_ngram_size"`
	// BadWordsIDs are never generated: a one-token entry is always banned, a
	// longer one bans its last token when the others end the row (HF's
	// bad_words_ids). One-token entries that are a stop token are ignored,
	// as in HF.
	BadWordsIDs [][]int `json:"bad_words_ids"`
	// ForcedBOSTokenID, when set, is the only token allowed right after a
	// one-token prompt (HF's forced_bos_token_id, applied at length 1).
	ForcedBOSTokenID *int `json:"forced_bos_token_id"`
	// ForcedEOSTokenID, when set, is the only token allowed as the last one
	// a row may generate (HF's forced_eos_token_id, at max_length − 1).
	ForcedEOSTokenID *int `json:"forced_eos_token_id"`
	// RenormalizeLogits applies a log-softmax after the processors (HF's
	// renormalize_logits); it changes beam scores once tokens are banned.
	RenormalizeLogits bool `json:"renormalize_logits"`

	// Decoder, when set, decodes the generated text (Result.Text, OnText,
	// stop strings).
	Decoder Decoder `json:"-"`
	// OnToken, when set, is called with each generated token of each row.
	// Beam search, whose beams change until the end, does not call it.
	OnToken func(row, id int) `json:"-"`
	// OnText, when set (with Decoder), is called with each new piece of a
	// row's generated text as soon as it is complete (whole UTF-8 characters,
	// not a possible start of a stop string). Beam search calls it once per
	// returned sequence with the final text, row being the sequence's index
	// in the result (the prompt's, with one sequence per prompt).
	OnText func(row int, piece string) `json:"-"`
}

// FinishReason says why a row stopped.
type FinishReason string

// Reasons a row stops.
const (
	FinishStop      FinishReason = "stop"      // a stop token or stop string
	FinishLength    FinishReason = "length"    // MaxNewTokens or the model's maximum length
	FinishCancelled FinishReason = "cancelled" // the context ended
)

// Sequence is the outcome for one prompt.
type Sequence struct {
	Tokens []int        // generated ids (a final stop token included)
	Text   string       // decoded generated text, cut before a stop string (with Decoder)
	Reason FinishReason // why generation stopped
	Score  float64      // beam search: the length-penalised log-probability
}

// Generate continues each prompt (token ids; a batch is left-padded
// internally) and returns one Sequence per prompt. When ctx ends it returns
// what was generated so far together with ctx's error.
func Generate[S any](ctx context.Context, m LM[S], prompts [][]int, opts Options) ([]Sequence, error) {
	if err := check(m, prompts, &opts); err != nil {
		return nil, err
	}
	if opts.NumBeams > 1 {
		return beamSearch(ctx, m, prompts, opts)
	}
	if R := opts.NumReturnSequences; R > 1 { // sampling: R rows per prompt
		rep := make([][]int, 0, R*len(prompts))
		for _, p := range prompts {
			for range R {
				rep = append(rep, p)
			}
		}
		prompts = rep
	}
	B := len(prompts)
	P := 0 // longest prompt
	for _, p := range prompts {
		P = max(P, len(p))
	}
	maxNew := newTokens(m.MaxLen(), P, opts.MaxNewTokens)
	st, err := m.NewState(B, P+max(maxNew-1, 0))
	if err != nil {
		return nil, err
	}
	rows := make([]*row, B)
	for r := range rows {
		s, err := NewSampler(opts.SamplingOptions, opts.Seed+uint64(r))
		if err != nil {
			return nil, err
		}
		rows[r] = newRow(r, prompts[r], s, &opts)
	}
	// Prefill: [B, P], each prompt right-aligned after its padding.
	ids := make([]int, B*P)
	mask := make([]bool, B*P)
	for r, p := range prompts {
		copy(ids[r*P+P-len(p):], p)
		for t := P - len(p); t < P; t++ {
			mask[r*P+t] = true
		}
	}
	seqs := func(reason FinishReason) []Sequence {
		out := make([]Sequence, B)
		for r, w := range rows {
			out[r] = w.result(reason)
		}
		return out
	}
	if maxNew <= 0 {
		return seqs(FinishLength), nil
	}
	if err := ctx.Err(); err != nil {
		return seqs(FinishCancelled), err
	}
	logits, err := m.Forward(st, ids, mask)
	if err != nil {
		return nil, err
	}
	reason, _, err := decode(ctx, m, st, rows, logits, maxNew)
	if reason == "" {
		return nil, err
	}
	return seqs(reason), err
}

// decode samples from logits (the last prefill's) and feeds the samples back
// until every row is done, maxNew tokens are out or ctx ends. It returns the
// finish reason for rows not yet done ("" with an error from the model) and
// how many tokens were fed back to the state (each row's last sample is
// not).
func decode[S any](ctx context.Context, m LM[S], st S, rows []*row, logits []float32, maxNew int) (FinishReason, int, error) {
	V := m.VocabSize()
	step := make([]int, len(rows))
	proc := newProcessor(rows[0].opts, maxNew)
	for n := 0; ; n++ {
		live := false
		for r, w := range rows {
			if w.done {
				continue
			}
			lg := logits[r*V : (r+1)*V]
			w.sampler.penalize(lg, w.context)
			proc.apply(lg, w.context, w.prompt)
			id := w.sampler.pick(lg)
			if err := w.push(id); err != nil {
				return "", n, err
			}
			step[r] = id
			live = live || !w.done
		}
		if !live {
			return FinishLength, n, nil
		}
		if n+1 >= maxNew {
			for _, w := range rows {
				w.finish(FinishLength)
			}
			return FinishLength, n, nil
		}
		if err := ctx.Err(); err != nil {
			for _, w := range rows {
				w.finish(FinishCancelled)
			}
			return FinishCancelled, n, err
		}
		// Finished rows keep stepping with their last token; their logits are
		// ignored.
		var err error
		if logits, err = m.Forward(st, step, nil); err != nil {
			return "", n, err
		}
	}
}

// newTokens returns how many tokens a row may generate: limit (0: no limit)
// capped by the model's length. The last token is never fed back, so a state
// of maxLen positions yields maxLen−P+1 of them.
func newTokens(maxLen, P, limit int) int {
	n := maxLen - P + 1
	if limit > 0 {
		n = min(n, limit)
	}
	return n
}

// check validates the call and fills option defaults.
func check[S any](m LM[S], prompts [][]int, o *Options) error {
	if err := o.SamplingOptions.Validate(); err != nil {
		return err
	}
	switch {
	case len(prompts) == 0:
		return errors.New("generate: no prompts")
	case o.MaxNewTokens < 0:
		return fmt.Errorf("generate: max_new_tokens %d must be >= 0", o.MaxNewTokens)
	case o.NumBeams < 0:
		return fmt.Errorf("generate: num_beams %d must be >= 0", o.NumBeams)
	case math.IsNaN(o.LengthPenalty) || math.IsInf(o.LengthPenalty, 0):
		return errors.New("generate: length_penalty must be finite")
	case len(o.StopStrings) > 0 && o.Decoder == nil:
		return errors.New("generate: stop strings need a Decoder")
	}
	for _, s := range o.StopStrings {
		if s == "" {
			return errors.New("generate: empty stop string")
		}
	}
	V := m.VocabSize()
	if err := checkProcessors(o, V); err != nil {
		return err
	}
	for i, p := range prompts {
		if len(p) == 0 {
			return fmt.Errorf("generate: prompt %d is empty (start it with BOS)", i)
		}
		if len(p) > m.MaxLen() {
			return fmt.Errorf("generate: prompt %d has %d tokens; the model holds %d", i, len(p), m.MaxLen())
		}
		for _, id := range p {
			if id < 0 || id >= V {
				return fmt.Errorf("generate: prompt %d: token id %d outside the vocabulary of %d", i, id, V)
			}
		}
	}
	if o.LengthPenalty == 0 {
		o.LengthPenalty = 1
	}
	return nil
}

// row is the decoding progress of one prompt.
type row struct {
	idx     int
	opts    *Options
	sampler *Sampler
	context []int // prompt + generated: the penalties' context
	prompt  int   // prompt length
	done    bool
	reason  FinishReason

	// Text tracking (with a Decoder): text is decoded incrementally over a
	// short window of tokens context[from:], of which context[from:read]
	// were already turned into text, so each token costs O(1) decoding.
	from, read int
	text       string // decoded generated text so far
	scanned    int    // bytes of text already searched for stop strings
	emitted    int    // bytes of text passed to OnText
}

// decodeWindow is how many already decoded tokens precede the new ones when
// decoding incrementally, so that context-dependent renderings (a leading
// space dropped after BOS, multi-byte characters split over byte tokens)
// come out as in a one-shot decode.
const decodeWindow = 4

func newRow(idx int, prompt []int, s *Sampler, o *Options) *row {
	w := &row{idx: idx, opts: o, sampler: s, context: append(make([]int, 0, len(prompt)+64), prompt...), prompt: len(prompt)}
	w.from, w.read = max(0, len(prompt)-decodeWindow), len(prompt)
	return w
}

// decodeNew appends the text of the tokens decoded since the last call, as
// the difference between decoding the window with and without them. The text
// is held back while it ends in an incomplete character; with flush it is
// taken as it is.
func (w *row) decodeNew(flush bool) error {
	if w.read == len(w.context) {
		return nil
	}
	dec := w.opts.Decoder
	prev, err := dec.Decode(w.context[w.from:w.read], true)
	if err != nil {
		return fmt.Errorf("generate: decode: %w", err)
	}
	full, err := dec.Decode(w.context[w.from:], true)
	if err != nil {
		return fmt.Errorf("generate: decode: %w", err)
	}
	if !strings.HasPrefix(full, prev) {
		if !flush {
			return nil // the window is mid-character; wait for more tokens
		}
		prev = ""
	}
	piece := full[len(prev):]
	if !flush && (strings.HasSuffix(piece, "\uFFFD") || !utf8.FullRuneInString(piece[lastRuneStart(piece):])) {
		return nil
	}
	w.text += piece
	w.from, w.read = max(w.from, len(w.context)-decodeWindow), len(w.context)
	return nil
}

// push records a generated token: callbacks, stop tokens, stop strings.
func (w *row) push(id int) error {
	w.context = append(w.context, id)
	if w.opts.OnToken != nil {
		w.opts.OnToken(w.idx, id)
	}
	stop := slices.Contains(w.opts.StopTokens, id)
	if w.opts.Decoder != nil && stop {
		// Flush text held back mid-character; the stop token is not text.
		w.context = w.context[:len(w.context)-1]
		err := w.decodeNew(true)
		w.context = w.context[:len(w.context)+1]
		if err != nil {
			return err
		}
		w.cutStop()
	}
	if w.opts.Decoder != nil && !stop {
		if err := w.decodeNew(false); err != nil {
			return err
		}
		stop = w.cutStop()
	}
	if stop {
		w.finish(FinishStop)
		return nil
	}
	w.emit(false)
	return nil
}

// cutStop searches the new text for a stop string and cuts the text before
// the first one found.
func (w *row) cutStop() bool {
	longest := 0
	for _, s := range w.opts.StopStrings {
		longest = max(longest, len(s))
	}
	start := max(0, w.scanned-longest+1)
	w.scanned = len(w.text)
	cut := -1
	for _, s := range w.opts.StopStrings {
		if i := strings.Index(w.text[start:], s); i >= 0 && (cut < 0 || start+i < cut) {
			cut = start + i
		}
	}
	if cut < 0 {
		return false
	}
	w.text = w.text[:cut]
	return true
}

// emit passes the complete part of the text to OnText; at the end (final)
// everything left.
func (w *row) emit(final bool) {
	if w.opts.OnText == nil || w.opts.Decoder == nil {
		return
	}
	end := len(w.text)
	if !final {
		// Hold back an incomplete UTF-8 character or replacement char at the
		// end, and any suffix that may begin a stop string.
		for end > w.emitted && !utf8.FullRuneInString(w.text[lastRuneStart(w.text[:end]):end]) {
			end = lastRuneStart(w.text[:end])
		}
		if strings.HasSuffix(w.text[:end], "\uFFFD") {
			end -= len("\uFFFD")
		}
		for _, s := range w.opts.StopStrings {
			for k := min(len(s)-1, end-w.emitted); k > 0; k-- {
				if strings.HasSuffix(w.text[:end], s[:k]) {
					end -= k
					break
				}
			}
		}
	}
	if end > w.emitted {
		w.opts.OnText(w.idx, w.text[w.emitted:end])
		w.emitted = end
	}
}

func lastRuneStart(s string) int {
	i := len(s) - 1
	for i > 0 && !utf8.RuneStart(s[i]) && len(s)-i < utf8.UTFMax {
		i--
	}
	return max(i, 0)
}

// finish marks the row done and flushes its text.
func (w *row) finish(reason FinishReason) {
	if w.done {
		return
	}
	w.done, w.reason = true, reason
	if w.opts.Decoder != nil && reason != FinishStop {
		// Flush tokens held back mid-character (not after a stop: the
		// stop token is not text, and a stop string has cut the text).
		_ = w.decodeNew(true)
		w.cutStop()
	}
	w.emit(true)
}

func (w *row) result(reason FinishReason) Sequence {
	if !w.done {
		w.finish(reason)
	}
	return Sequence{Tokens: append([]int(nil), w.context[w.prompt:]...), Text: w.text, Reason: w.reason}
}

// Event is one message of GenerateChan: a generated token with the text it
// completed (possibly empty), or, last, the final sequences and error.
type Event struct {
	Row   int    // batch row the token belongs to
	Token int    // the generated token id
	Text  string // text the token completed (possibly empty)
	// Done marks the final event, which carries Sequences and Err.
	Done      bool
	Sequences []Sequence // final sequences (Done events only)
	Err       error      // Generate's error (Done events only)
}

// GenerateChan runs Generate in a goroutine and delivers its tokens and text
// pieces on the returned channel, which is closed after the final (Done)
// event. The caller must drain the channel or cancel ctx; opts.OnToken and
// opts.OnText are replaced.
func GenerateChan[S any](ctx context.Context, m LM[S], prompts [][]int, opts Options) <-chan Event {
	ch := make(chan Event, 16)
	go func() {
		defer close(ch)
		send := func(e Event) {
			select {
			case ch <- e:
			case <-ctx.Done():
			}
		}
		opts.OnToken = func(row, id int) { send(Event{Row: row, Token: id}) }
		if opts.Decoder != nil {
			opts.OnText = func(row int, piece string) { send(Event{Row: row, Token: -1, Text: piece}) }
		}
		seqs, err := Generate(ctx, m, prompts, opts)
		ch <- Event{Done: true, Sequences: seqs, Err: err, Token: -1}
	}()
	return ch
}
