// Package text2text runs an encoder-decoder Transformer (package seq2seq:
// Marian, T5, BART) on text — translation, summarization, any
// text-to-text task — and scores the outputs (BLEU, ROUGE; package
// metrics).
//
// A Model pairs a seq2seq.Model with its tokenizer. Generate tokenizes the
// sources (a task prefix first, such as T5's "summarize: "), checks their
// length against the encoder's positions (an error, or truncation when
// asked), encodes them in padded batches, decodes with the model's
// defaults (generation_config.json, or a task_specific_params entry)
// overridden by Options, and returns the text of each:
//
//	m, _ := text2text.New(model, tok)
//	res, err := m.Generate(ctx, []string{"A man is eating."}, &text2text.Options{NumBeams: 4})
//
// ReadExamples reads evaluation data (line-aligned source and reference
// files, or JSONL/CSV/TSV columns), Lead gives the lead-N baseline of
// summarization, and Score computes corpus BLEU or ROUGE.
//
// A Model is immutable and safe for concurrent use.
package text2text

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/glossa-ai/glossa/generate"
	"github.com/glossa-ai/glossa/models/seq2seq"
	"github.com/glossa-ai/glossa/tokenizer"
)

// Model is an encoder-decoder with its tokenizer.
type Model struct {
	*seq2seq.Model
	Tokenizer *tokenizer.Tokenizer
}

// New pairs m with its tokenizer. A tokenizer with more ids than the model
// has embeddings is an error.
func New(m *seq2seq.Model, tok *tokenizer.Tokenizer) (*Model, error) {
	switch {
	case m == nil || tok == nil:
		return nil, errors.New("text2text: a model and a tokenizer are needed")
	case tok.VocabSize() > m.VocabSize():
		return nil, fmt.Errorf("text2text: the tokenizer has %d ids, the model only %d embeddings (wrong tokenizer?)",
			tok.VocabSize(), m.VocabSize())
	}
	return &Model{Model: m, Tokenizer: tok}, nil
}

// Options configure Generate. The zero value decodes with the model's
// generation defaults, 8 sources per batch, and refuses sources longer than
// the encoder's positions.
type Options struct {
	// Task names a task_specific_params entry of config.json
	// ("summarization", "translation_en_to_de") whose prefix and
	// generation keys apply; "" means none. A name the model lacks is an
	// error.
	Task string
	// Prefix goes before every source; "" means the task's (if any).
	Prefix string
	// Generation, when not nil, replaces the model's (and the task's)
	// decoding defaults; start from Model.GenerateOptions to adjust them.
	Generation *generate.Options
	// NumBeams overrides the number of beams (1: greedy); 0 keeps the
	// default.
	NumBeams int
	// MaxNewTokens overrides the most tokens generated per source; 0
	// keeps the default.
	MaxNewTokens int
	// MinNewTokens overrides the fewest tokens generated before a stop
	// token may end a source (HF's min_new_tokens); 0 keeps the default.
	MinNewTokens int
	// NumReturnSequences is the number of texts per source (HF's
	// num_return_sequences): the best beams, best first, or independent
	// samples; greedy decoding has one. Generate then returns that many
	// results per source, source i's j-th at i·NumReturnSequences+j. 0
	// means 1.
	NumReturnSequences int
	// BatchSize is the number of sources encoded and decoded together;
	// zero: 8.
	BatchSize int
	// MaxSourceTokens bounds a source's tokens, specials included, never
	// past the encoder's positions (Marian and BART:
	// max_position_embeddings; T5: no bound); zero: those positions.
	MaxSourceTokens int
	// Truncate cuts a longer source to MaxSourceTokens (keeping the
	// template's end-of-sequence token), as Hugging Face's tokenizers do
	// with truncation=True, and reports it in Result.Truncated; otherwise
	// such a source fails with an error wrapping seq2seq.ErrTooLong.
	Truncate bool
	// SortByLength batches sources of similar lengths together (less
	// padding and fewer idle beams); results keep the input order.
	SortByLength bool
	// OnText, when set, receives source i's generated text piece by piece
	// as it is decoded (greedy and sampling) or whole at the end (beam
	// search).
	OnText func(i int, piece string)
	// OnResult, when set, is called with each result as soon as its batch
	// is done, in batch order (the input order unless SortByLength).
	OnResult func(i int, r Result)
}

// Result is the outcome for one source.
type Result struct {
	// Text is the generated text, special tokens left out.
	Text string
	// Tokens are the generated ids (a final stop token included).
	Tokens []int
	// Reason says why generation stopped.
	Reason generate.FinishReason
	// SourceTokens is the number of tokens the encoder read.
	SourceTokens int
	// Truncated is the number of source tokens cut off (Options.Truncate).
	Truncated int
}

// defaultBatch is Options.BatchSize's zero value.
const defaultBatch = 8

// Generate runs the model on every source and returns one result per
// source, in order. A source that is empty (or only whitespace) fails with
// an error wrapping seq2seq.ErrEmptySource. When ctx ends, Generate returns
// ctx's error (the results of finished batches went to OnResult). opts may
// be nil.
func (m *Model) Generate(ctx context.Context, sources []string, opts *Options) ([]Result, error) {
	if opts == nil {
		opts = &Options{}
	}
	if len(sources) == 0 {
		return nil, errors.New("text2text: no sources")
	}
	gopts, prefix, err := m.generateOptions(opts)
	if err != nil {
		return nil, err
	}
	if opts.Prefix != "" {
		prefix = opts.Prefix
	}
	n := gopts.NumReturnSequences
	ids := make([][]int, len(sources))
	res := make([]Result, len(sources)*n)
	for i, s := range sources {
		if strings.TrimSpace(s) == "" {
			return nil, fmt.Errorf("text2text: source %d: %w (no text)", i, seq2seq.ErrEmptySource)
		}
		var cut int
		if ids[i], cut, err = m.encodeSource(prefix+s, opts); err != nil {
			return nil, fmt.Errorf("text2text: source %d: %w", i, err)
		}
		for j := range n {
			res[i*n+j].Truncated, res[i*n+j].SourceTokens = cut, len(ids[i])
		}
	}
	order := make([]int, len(sources))
	for i := range order {
		order[i] = i
	}
	if opts.SortByLength {
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(len(ids[b]), len(ids[a])) })
	}
	B := cmp.Or(opts.BatchSize, defaultBatch)
	if B < 0 {
		return nil, fmt.Errorf("text2text: batch size %d", B)
	}
	for start := 0; start < len(order); start += B {
		batch := order[start:min(start+B, len(order))]
		rows := make([][]int, len(batch))
		for r, i := range batch {
			rows[r] = ids[i]
		}
		mem, err := m.EncodeRows(rows)
		if err != nil {
			return nil, fmt.Errorf("text2text: %w", err)
		}
		g := gopts
		if opts.OnText != nil { // row r of the batch is source batch[r/n]'s (r%n)-th text
			g.OnText = func(row int, piece string) { opts.OnText(batch[row/n]*n+row%n, piece) }
		}
		seqs, err := m.Model.Generate(ctx, mem, g)
		if err != nil {
			return nil, fmt.Errorf("text2text: %w", err)
		}
		for r, i := range batch {
			for j := range n {
				k, q := i*n+j, seqs[r*n+j]
				res[k].Text, res[k].Tokens, res[k].Reason = q.Text, q.Tokens, q.Reason
				if opts.OnResult != nil {
					opts.OnResult(k, res[k])
				}
			}
		}
	}
	return res, nil
}

// generateOptions resolves the decoding options and the task's prefix.
func (m *Model) generateOptions(opts *Options) (generate.Options, string, error) {
	var g generate.Options
	prefix := ""
	switch {
	case opts.Generation != nil:
		g = *opts.Generation
		if opts.Task != "" {
			p, _, ok := m.Task(opts.Task)
			if !ok {
				return g, "", m.unknownTask(opts.Task)
			}
			prefix = p
		}
	case opts.Task != "":
		p, gen, ok := m.Task(opts.Task)
		if !ok {
			return g, "", m.unknownTask(opts.Task)
		}
		g, prefix = gen.Options(), p
	default:
		g = m.GenerateOptions()
	}
	switch {
	case opts.NumBeams < 0 || opts.MaxNewTokens < 0 || opts.MinNewTokens < 0 || opts.NumReturnSequences < 0:
		return g, "", fmt.Errorf("text2text: %d beams, %d to %d new tokens, %d sequences", opts.NumBeams, opts.MinNewTokens, opts.MaxNewTokens, opts.NumReturnSequences)
	case opts.NumBeams > 0:
		g.NumBeams = opts.NumBeams
	}
	if opts.MaxNewTokens > 0 {
		g.MaxNewTokens = opts.MaxNewTokens
	}
	if opts.MinNewTokens > 0 {
		g.MinNewTokens = opts.MinNewTokens
	}
	g.NumReturnSequences = max(opts.NumReturnSequences, 1) // generate refuses more than one for greedy decoding
	g.Decoder = vocabDecoder{m.Tokenizer}
	g.OnText, g.OnToken = nil, nil
	return g, prefix, nil
}

func (m *Model) unknownTask(name string) error {
	if names := m.TaskNames(); len(names) > 0 {
		return fmt.Errorf("text2text: the model has no task %q in task_specific_params (it has %s)", name, strings.Join(names, ", "))
	}
	return fmt.Errorf("text2text: the model has no task %q (its config.json has no task_specific_params)", name)
}

// encodeSource tokenizes one source and applies the length bound,
// returning the ids and the number of tokens cut.
func (m *Model) encodeSource(text string, opts *Options) ([]int, int, error) {
	enc, err := m.Tokenizer.Encode(text)
	if err != nil {
		return nil, 0, err
	}
	if len(enc.IDs) == 0 {
		return nil, 0, fmt.Errorf("%w (the text encodes to no token)", seq2seq.ErrEmptySource)
	}
	limit := opts.MaxSourceTokens
	if ml := m.MaxSourceLen(); ml > 0 && (limit == 0 || limit > ml) {
		limit = ml
	}
	if limit <= 0 || len(enc.IDs) <= limit {
		return enc.IDs, 0, nil
	}
	if !opts.Truncate {
		return nil, 0, fmt.Errorf("%w: %d tokens, at most %d", seq2seq.ErrTooLong, len(enc.IDs), limit)
	}
	special := 0
	for _, s := range enc.SpecialTokensMask {
		special += s
	}
	budget := limit - special
	if budget < 1 {
		return nil, 0, fmt.Errorf("%w: %d tokens, at most %d, of which %d are special", seq2seq.ErrTooLong, len(enc.IDs), limit, special)
	}
	ids := make([]int, 0, limit)
	kept := 0
	for t, id := range enc.IDs {
		if enc.SpecialTokensMask[t] == 1 {
			ids = append(ids, id)
		} else if kept < budget {
			ids = append(ids, id)
			kept++
		}
	}
	return ids, len(enc.IDs) - len(ids), nil
}

// vocabDecoder decodes with the tokenizer, leaving out ids the tokenizer
// does not have (T5's embedding table is padded past its vocabulary, so a
// model can produce them) instead of failing on them.
type vocabDecoder struct{ tok *tokenizer.Tokenizer }

func (d vocabDecoder) Decode(ids []int, skipSpecial bool) (string, error) {
	n := d.tok.VocabSize()
	if slices.ContainsFunc(ids, func(id int) bool { return id < 0 || id >= n }) {
		ids = slices.DeleteFunc(slices.Clone(ids), func(id int) bool { return id < 0 || id >= n })
	}
	return d.tok.Decode(ids, skipSpecial)
}
