package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/tokenizer"
)

// QuestionAnswering is Hugging Face's question-answering pipeline:
// extractive answers, spans of a context, from a model with a span head
// (BertForQuestionAnswering, DistilBertForQuestionAnswering,
// RobertaForQuestionAnswering, …). A context longer than the model is
// split into overlapping windows, whose answers compete. It is safe for
// concurrent use.
type QuestionAnswering struct{ m *model }

// QAInput is one question about one context.
type QAInput struct {
	Question string `json:"question"`
	Context  string `json:"context"`
}

// NoStride is QAOptions.DocStride for windows that do not overlap (Hugging
// Face's doc_stride=0).
const NoStride = -1

// QAOptions are the question-answering pipeline's call options, Hugging
// Face's defaults for zero values.
type QAOptions struct {
	// TopK is how many answers to return per question. Zero: 1.
	TopK int `json:"top_k"`
	// DocStride is how many tokens consecutive windows of a long context
	// share. Zero: min(MaxSeqLen/2, 128); NoStride (-1): none.
	DocStride int `json:"doc_stride"`
	// MaxAnswerLen is the longest answer, in tokens. Zero: 15.
	MaxAnswerLen int `json:"max_answer_len"`
	// MaxSeqLen is the length of a window, question and special tokens
	// included. Zero: 384, or the model's length when shorter.
	MaxSeqLen int `json:"max_seq_len"`
	// MaxQuestionLen truncates the question to this many tokens, as
	// Hugging Face's slow-tokenizer path does. Zero: the question is kept
	// whole, as its fast-tokenizer path (which ignores max_question_len)
	// does; a question that leaves no room for the context is an error.
	MaxQuestionLen int `json:"max_question_len"`
	// HandleImpossibleAnswer adds the empty answer ("" at 0, 0), scored by
	// the model's no-answer ([CLS]) probability, to the candidates.
	HandleImpossibleAnswer bool `json:"handle_impossible_answer"`
	// AlignToWords widens an answer to the words its first and last tokens
	// belong to. Nil: true.
	AlignToWords *bool `json:"align_to_words"`
}

// Answer is one answer: Context[Start:End] in characters (Python's str
// indices, code points).
type Answer struct {
	Score  float64 `json:"score"`
	Start  int     `json:"start"`
	End    int     `json:"end"`
	Answer string  `json:"answer"`
}

// LoadQuestionAnswering loads the question-answering pipeline of a model
// with a span head (see Load).
func LoadQuestionAnswering(ctx context.Context, modelRef string, opts *Options) (*QuestionAnswering, error) {
	m, err := loadModel(ctx, QuestionAnsweringTask, modelRef, opts, bert.HeadQA)
	if err != nil {
		return nil, err
	}
	return &QuestionAnswering{m}, nil
}

// NewQuestionAnswering returns the question-answering pipeline of an
// encoder in memory with a span head — a model being fine-tuned, for
// instance (bert.ForQuestionAnswering's Encoder) — and its tokenizer. Only
// opts.BatchSize matters (zero: 32).
func NewQuestionAnswering(enc *bert.Encoder, tok *tokenizer.Tokenizer, opts *Options) (*QuestionAnswering, error) {
	if !enc.Has(bert.HeadQA) {
		return nil, fmt.Errorf("pipeline: %s needs a model with the %v head (%s); the encoder has %v",
			QuestionAnsweringTask, bert.HeadQA, enc.HeadName(bert.HeadQA), enc.Heads())
	}
	batch := 0
	if opts != nil {
		batch = opts.BatchSize
	}
	if batch < 0 {
		return nil, fmt.Errorf("pipeline: batch size %d < 0", batch)
	}
	if tok.VocabSize() > enc.Config.VocabSize {
		return nil, fmt.Errorf("pipeline: the tokenizer's vocabulary (%d) is larger than the model's (%d)", tok.VocabSize(), enc.Config.VocabSize)
	}
	m, err := newModel(enc, "", tok, tokenizerConfig{}, batch)
	if err != nil {
		return nil, err
	}
	return &QuestionAnswering{m}, nil
}

// Task reports QuestionAnsweringTask.
func (p *QuestionAnswering) Task() Task { return QuestionAnsweringTask }

// qaSettings are QAOptions with the defaults filled in.
type qaSettings struct {
	topK, stride, maxAnswer, maxSeq, maxQuestion int
	impossible, align                            bool
}

func (p *QuestionAnswering) settings(o *QAOptions) (qaSettings, error) {
	return qaSettingsFor(o, p.m.maxLen)
}

// qaSettingsFor fills in o's defaults for a model of maxLen tokens.
func qaSettingsFor(o *QAOptions, maxLen int) (qaSettings, error) {
	s := qaSettings{topK: o.TopK, stride: o.DocStride, maxAnswer: o.MaxAnswerLen, maxSeq: o.MaxSeqLen,
		maxQuestion: o.MaxQuestionLen, impossible: o.HandleImpossibleAnswer, align: o.AlignToWords == nil || *o.AlignToWords}
	switch {
	case s.topK < 0:
		return s, inputErr("top_k parameter should be >= 1 (got %d)", s.topK)
	case s.maxAnswer < 0:
		return s, inputErr("max_answer_len parameter should be >= 1 (got %d)", s.maxAnswer)
	case s.maxSeq < 0 || s.maxQuestion < 0 || s.stride < NoStride:
		return s, inputErr("max_seq_len %d, max_question_len %d and doc_stride %d must not be negative", s.maxSeq, s.maxQuestion, s.stride)
	case s.maxSeq > maxLen:
		return s, inputErr("max_seq_len %d is longer than the model's %d tokens", s.maxSeq, maxLen)
	}
	if s.topK == 0 {
		s.topK = 1
	}
	if s.maxAnswer == 0 {
		s.maxAnswer = 15
	}
	if s.maxSeq == 0 {
		s.maxSeq = min(maxLen, 384)
	}
	switch s.stride {
	case 0:
		s.stride = min(s.maxSeq/2, 128)
	case NoStride:
		s.stride = 0
	}
	if s.stride > s.maxSeq {
		return s, inputErr("doc_stride (%d) is larger than max_seq_len (%d)", s.stride, s.maxSeq)
	}
	return s, nil
}

// span is a candidate answer of one window: tokens s … e inclusive.
type span struct {
	s, e  int
	score float64
}

// feature is one window of one input.
type feature struct {
	input int
	enc   *tokenizer.Encoding
}

// Run answers every question and returns, per input, up to TopK answers,
// best first. Answers with the same text (in any case) found in several
// windows, or as several spans, have their scores summed, as Hugging Face
// does. An empty context, a question that leaves no room for the context,
// or a context without any possible span is an error (ErrInput). An empty
// question is answered ([CLS] [SEP] context [SEP]), as transformers.js
// does, where Python's argument handler refuses it. The windows of every
// input run in batched forward passes.
func (p *QuestionAnswering) Run(ctx context.Context, inputs []QAInput, opts *QAOptions) ([][]Answer, error) {
	preds, st, err := p.predict(ctx, inputs, opts)
	if err != nil {
		return nil, err
	}
	answers := make([][]Answer, len(inputs))
	for i, pr := range preds {
		answers[i] = pr.Answers
		if st.impossible {
			answers[i] = append(answers[i], Answer{Score: pr.NullScore})
		}
		if len(answers[i]) == 0 {
			return nil, inputErr("input %d: no span of the context can answer (every candidate scores 0)", i)
		}
		slices.SortStableFunc(answers[i], func(a, b Answer) int { return cmpDesc(a.Score, b.Score) })
		answers[i] = answers[i][:min(st.topK, len(answers[i]))]
	}
	return answers, nil
}

// QAPrediction is what the pipeline finds for one input before it picks
// the answers to return: the candidate spans and the no-answer score.
type QAPrediction struct {
	// Answers are the candidate spans (up to TopK from each window, the
	// scores of equal texts summed), best first; empty when no span has a
	// non-zero score.
	Answers []Answer
	// NullScore is the no-answer score, p_start([CLS])·p_end([CLS]),
	// the smallest over the input's windows — the score of the empty
	// answer that HandleImpossibleAnswer adds, and the "na_prob" of the
	// SQuAD v2.0 evaluation script.
	NullScore float64
}

// Predict is Run's search without its choice: per input, the candidate
// spans (HandleImpossibleAnswer does not add the empty answer to them) and
// the no-answer score, so that an evaluation can apply its own
// no-answer threshold. An input no span can answer is not an error here.
func (p *QuestionAnswering) Predict(ctx context.Context, inputs []QAInput, opts *QAOptions) ([]QAPrediction, error) {
	preds, _, err := p.predict(ctx, inputs, opts)
	return preds, err
}

func (p *QuestionAnswering) predict(ctx context.Context, inputs []QAInput, opts *QAOptions) ([]QAPrediction, qaSettings, error) {
	if opts == nil {
		opts = &QAOptions{}
	}
	if len(inputs) == 0 {
		return nil, qaSettings{}, inputErr("no inputs")
	}
	st, err := p.settings(opts)
	if err != nil {
		return nil, st, err
	}
	feats, questions, err := p.features(inputs, st)
	if err != nil {
		return nil, st, err
	}
	answers := make([][]Answer, len(inputs))
	nulls := make([]float64, len(inputs))
	for i := range nulls {
		nulls[i] = 1e6 // Python's "large and positive" start
	}
	encs := make([]*tokenizer.Encoding, len(feats))
	for i, f := range feats {
		encs[i] = f.enc
	}
	next := 0
	err = p.m.batches(ctx, encs, func(ws *bert.Workspace, in bert.Input, batch []*tokenizer.Encoding) error {
		start, end, err := p.m.enc.AnswerSpans(ws, in)
		if err != nil {
			return err
		}
		for b, e := range batch {
			f := feats[next]
			next++
			spans, null := p.spans(e, start[b*in.T:b*in.T+e.Len()], end[b*in.T:b*in.T+e.Len()], st)
			nulls[f.input] = math.Min(nulls[f.input], null)
			answers[f.input] = p.addAnswers(answers[f.input], e, spans, questions[f.input], inputs[f.input].Context, st.align)
		}
		return nil
	})
	if err != nil {
		return nil, st, err
	}
	preds := make([]QAPrediction, len(inputs))
	for i := range answers {
		slices.SortStableFunc(answers[i], func(a, b Answer) int { return cmpDesc(a.Score, b.Score) })
		preds[i] = QAPrediction{Answers: answers[i], NullScore: nulls[i]}
	}
	return preds, st, nil
}

// features encodes every input as question + context windows of
// st.maxSeq tokens overlapping by st.stride (context truncated only),
// after cutting the question to st.maxQuestion tokens when asked. It
// returns the windows and the questions as encoded.
func (p *QuestionAnswering) features(inputs []QAInput, st qaSettings) ([]feature, []string, error) {
	return qaFeatures(p.m.tok, inputs, st)
}

// QAWindow is one window of a question-answering input: the question and
// the part of the context that fits beside it.
type QAWindow struct {
	Input    int                 // index of the input
	Question string              // the question as encoded (cut to MaxQuestionLen tokens when asked)
	Encoding *tokenizer.Encoding // [CLS] question [SEP] context part [SEP]; SequenceIDs 1 on the context
}

// QAWindows returns the windows the question-answering pipeline runs for
// inputs with tok on a model of maxLen positions — MaxSeqLen tokens each,
// the context split with DocStride tokens of overlap (the same windows, so
// that a model fine-tuned on them sees at inference what it was trained
// on). Only MaxSeqLen, DocStride and MaxQuestionLen of opts matter; the
// errors are Run's.
func QAWindows(tok *tokenizer.Tokenizer, maxLen int, inputs []QAInput, opts *QAOptions) ([]QAWindow, error) {
	if opts == nil {
		opts = &QAOptions{}
	}
	st, err := qaSettingsFor(opts, maxLen)
	if err != nil {
		return nil, err
	}
	if tok, err = tok.WithOptions(tokenizer.Options{}); err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	feats, questions, err := qaFeatures(tok, inputs, st)
	if err != nil {
		return nil, err
	}
	out := make([]QAWindow, len(feats))
	for i, f := range feats {
		out[i] = QAWindow{Input: f.input, Question: questions[f.input], Encoding: f.enc}
	}
	return out, nil
}

// qaFeatures is features with tok, a tokenizer without truncation or
// padding of its own.
func qaFeatures(base *tokenizer.Tokenizer, inputs []QAInput, st qaSettings) ([]feature, []string, error) {
	questions := make([]string, len(inputs))
	plain, err := base.WithOptions(tokenizer.Options{SkipTemplate: true})
	if err != nil {
		return nil, nil, err
	}
	tr := tokenizer.Truncation{MaxLength: st.maxSeq, Strategy: tokenizer.OnlySecond, Overflow: true, Stride: st.stride}
	tok, err := base.WithOptions(tokenizer.Options{Truncation: tr})
	if err != nil {
		return nil, nil, inputErr("%v", err)
	}
	specials := 0
	if e, err := base.EncodePair("", ""); err == nil {
		specials = e.Len()
	}
	var feats []feature
	for i, in := range inputs {
		if strings.TrimSpace(in.Context) == "" {
			return nil, nil, inputErr("input %d: the context is empty", i)
		}
		q := in.Question
		qe, _ := plain.Encode(q)
		if st.maxQuestion > 0 && qe.Len() > st.maxQuestion {
			q = q[:qe.Offsets[st.maxQuestion-1][1]]
			qe.IDs = qe.IDs[:st.maxQuestion]
		}
		questions[i] = q
		room := st.maxSeq - specials - len(qe.IDs)
		if room < 1 {
			return nil, nil, inputErr("input %d: the question is %d tokens, which with %d special tokens leaves no room for the context in max_seq_len %d (shorten it or set max_question_len)",
				i, len(qe.IDs), specials, st.maxSeq)
		}
		if st.stride >= room {
			return nil, nil, inputErr("input %d: doc_stride %d must be smaller than the %d context tokens a window of max_seq_len %d holds beside the question",
				i, st.stride, room, st.maxSeq)
		}
		e, err := tok.EncodePair(q, in.Context)
		if err != nil {
			return nil, nil, inputErr("input %d: %v", i, err)
		}
		if !slices.Contains(e.SequenceIDs, 1) {
			return nil, nil, inputErr("input %d: the context encodes to no tokens", i)
		}
		feats = append(feats, feature{i, &e})
		for k := range e.Overflowing {
			feats = append(feats, feature{i, &e.Overflowing[k]})
		}
	}
	return feats, questions, nil
}

// spans scores the candidate answers of one window as Python's
// select_starts_ends and decode_spans: a softmax each over the start and
// end logits with everything but the context and [CLS] left out, the
// probability of start·end for spans of at most maxAnswer tokens inside
// the context, the topK best. It also returns the window's no-answer
// score, p_start([CLS])·p_end([CLS]).
func (p *QuestionAnswering) spans(e *tokenizer.Encoding, start, end []float32, st qaSettings) ([]span, float64) {
	T := e.Len()
	ok := make([]bool, T) // Python's "undesired_tokens" negated: a possible boundary
	for t := range T {
		ok[t] = e.SequenceIDs[t] == 1 || e.IDs[t] == p.m.special.cls
	}
	ps, pe := maskedSoftmax(start, ok), maskedSoftmax(end, ok)
	null := ps[0] * pe[0]
	ps[0], pe[0] = 0, 0 // [CLS] is never an answer span
	var top []span
	for s := range T {
		if !ok[s] || ps[s] == 0 {
			continue
		}
		for t := s; t < min(T, s+st.maxAnswer); t++ {
			sc := ps[s] * pe[t]
			if !ok[t] || sc == 0 || len(top) == st.topK && sc <= top[len(top)-1].score {
				continue
			}
			i, _ := slices.BinarySearchFunc(top, sc, func(a span, v float64) int { return cmpDesc(a.score, v) + boolInt(a.score == v) })
			top = slices.Insert(top, i, span{s, t, sc})
			if len(top) > st.topK {
				top = top[:st.topK]
			}
		}
	}
	return top, null
}

func boolInt(b bool) int {
	if b {
		return -1 // equal scores: the earlier span first
	}
	return 0
}

// maskedSoftmax is the softmax of x with the positions where ok is false
// set to -10000 first, as Hugging Face masks them, in float64.
func maskedSoftmax(x []float32, ok []bool) []float64 {
	out := make([]float64, len(x))
	hi := math.Inf(-1)
	for i, v := range x {
		out[i] = -10000
		if ok[i] {
			out[i] = float64(v)
		}
		hi = math.Max(hi, out[i])
	}
	sum := 0.0
	for i := range out {
		out[i] = math.Exp(out[i] - hi)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

// addAnswers turns the spans of window e into answers — character ranges
// of the context, widened to whole words with align — and adds them to
// answers, summing the scores of answers of the same text.
func (p *QuestionAnswering) addAnswers(answers []Answer, e *tokenizer.Encoding, spans []span, question, context string, align bool) []Answer {
	offs := e.CharOffsets(question, context)
	var words []int
	if align {
		words = wordIDs(p.m.tok, e, question, context)
	}
	runes := []rune(context)
	for _, sp := range spans {
		s, end := offs[sp.s][0], offs[sp.e][1]
		if align {
			s, end = wordChars(e, offs, words, sp.s, 1)[0], wordChars(e, offs, words, sp.e, 1)[1]
		}
		text := string(runes[s:end])
		i := slices.IndexFunc(answers, func(a Answer) bool { return strings.EqualFold(a.Answer, text) })
		if i >= 0 {
			answers[i].Score += sp.score
			continue
		}
		answers = append(answers, Answer{Score: sp.score, Start: s, End: end, Answer: text})
	}
	return answers
}

// wordChars returns the character range of the word of token t within
// sequence seq of e: from the start of its first token to the end of its
// last (Hugging Face's word_to_chars).
func wordChars(e *tokenizer.Encoding, offs [][2]int, words []int, t, seq int) [2]int {
	w := words[t]
	lo, hi := t, t
	for lo > 0 && words[lo-1] == w && e.SequenceIDs[lo-1] == seq {
		lo--
	}
	for hi+1 < e.Len() && words[hi+1] == w && e.SequenceIDs[hi+1] == seq {
		hi++
	}
	return [2]int{offs[lo][0], offs[hi][1]}
}

// CallJSON runs question-answering calls: {"question": Q, "context": C}
// (or lists of both, or "inputs": {"question": …, "context": …} or a list
// of those) with the options top_k, doc_stride, max_answer_len,
// max_seq_len, max_question_len, handle_impossible_answer and
// align_to_words. As Hugging Face, an input with one answer gives the
// answer object, with several a list; a list of inputs gives a list of
// those.
func (p *QuestionAnswering) CallJSON(ctx context.Context, calls ...json.RawMessage) []Result {
	return callJSON(ctx, jsonTask[QAInput, QAOptions, []Answer]{
		args: qaArgs,
		run:  p.Run,
		shape: func(outs [][]Answer, single bool, _ *QAOptions) any {
			vals := make([]any, len(outs))
			for i, o := range outs {
				vals[i] = one(o, true)
			}
			return one(vals, single)
		},
	}, calls)
}

// qaArgs reads a question-answering call's arguments.
func qaArgs(fields map[string]json.RawMessage) ([]QAInput, bool, error) {
	if v, ok := fields["doc_stride"]; ok && strings.TrimSpace(string(v)) == "0" {
		fields["doc_stride"] = json.RawMessage("-1") // doc_stride=0 asks for windows without overlap
	}
	if raw := take(fields, "inputs"); raw != nil {
		return objectsArg[QAInput]("inputs", raw, nil)
	}
	qs, qSingle, err := stringsArg("question", take(fields, "question"))
	if err != nil {
		return nil, false, err
	}
	cs, cSingle, err := stringsArg("context", take(fields, "context"))
	if err != nil {
		return nil, false, err
	}
	switch {
	case cSingle && !qSingle: // several questions about one context
		for range qs[1:] {
			cs = append(cs, cs[0])
		}
	case len(qs) != len(cs):
		return nil, false, inputErr("%d questions and %d contexts", len(qs), len(cs))
	}
	in := make([]QAInput, len(qs))
	for i := range qs {
		in[i] = QAInput{Question: qs[i], Context: cs[i]}
	}
	return in, qSingle && cSingle, nil
}
