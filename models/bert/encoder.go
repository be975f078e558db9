package bert

import (
	"fmt"
	"slices"
	"strings"

	"github.com/glossa-ai/glossa/infer"
	"github.com/glossa-ai/glossa/nn"
)

// The inference path: BertModel and its heads on package infer's layers,
// without a graph. Each encoder layer is
//
//	q|k|v = x·[Wq; Wk; Wv]ᵀ + [bq; bk; bv]            one product       [N, 3C]
//	ctx   = softmax(q·kᵀ/√D + padding mask)·v         infer.Attention   [N, C]
//	x     = LayerNorm(x + ctx·Woᵀ + bo)               attention.output  [N, C]
//	x     = LayerNorm(x + act(x·W₁ᵀ + b₁)·W₂ᵀ + b₂)   intermediate, output
//
// with biases and activations fused into the products. Each sequence of the
// batch is one segment (row) of a one-layer infer.KVCache that holds the
// keys and values of the layer being computed; the attention mask masks
// keys, whose probability is then exactly 0, as in Hugging Face. (A row
// with no real token attends to nothing and gets a zero attention output,
// where Hugging Face averages over its padding.)

// Encoder is BERT for inference — or DistilBERT, RoBERTa or XLM-RoBERTa,
// the same post-LayerNorm encoder under other names (Config.Variant): the
// base model (embeddings, encoder layers, pooler) and the heads its
// checkpoint holds, matrices and embedding tables in float32 (packed) or
// bfloat16. It does not change once built and is safe for concurrent use,
// each goroutine bringing its own Workspace.
type Encoder struct {
	Config Config       // the architecture (read-only)
	Format infer.Format // how matrices and embedding tables are stored

	word, position *infer.Embedding // [V, E], [P, E] (E = C but for ELECTRA)
	tokenType      *infer.Embedding // [types, E]; nil for DistilBERT
	embNorm        *infer.LayerNorm
	project        *infer.Linear // ELECTRA's embeddings_project [C, E]; nil when E = C
	layers         []encoderLayer
	attn           infer.Attention
	pooler         *infer.Linear // pooler.dense [C, C]: tanh over the first token; nil without
	mlm            *mlmHead      // masked-LM head; nil without
	nsp            *infer.Linear // cls.seq_relationship [2, C]; nil without
	seq            *seqHead      // sequence classifier; nil without
	tokens         *infer.Linear // token classifier [labels, C] on every position; nil without
	spans          *infer.Linear // qa_outputs [2, C]: start and end logits; nil without
	heads          Heads         // the heads loaded
}

// encoderLayer is one BertLayer: q, k and v fused into one Linear [3C, C].
type encoderLayer struct {
	qkv, attnOut, inter, out *infer.Linear
	attnNorm, outNorm        *infer.LayerNorm
}

// mlmHead is a masked-LM head: logits = LayerNorm(act(x·Wᵀ + b))·Eᵀ + bias,
// E the word embeddings (BERT's cls.predictions, RoBERTa's lm_head,
// DistilBERT's vocab_transform/vocab_layer_norm/vocab_projector).
type mlmHead struct {
	dense   *infer.Linear
	act     infer.Activation
	norm    *infer.LayerNorm
	decoder *infer.Linear // the word embedding, tied
}

// seqHead is a sequence classifier over the first token: BERT's
// classifier(pooler output), RoBERTa's out_proj(tanh(dense(x₀))),
// DistilBERT's classifier(ReLU(pre_classifier(x₀))).
type seqHead struct {
	pre *infer.Linear // nil: the pooler output (BERT)
	act infer.Activation
	out *infer.Linear // [labels, C]
}

// Heads is a set of the parts of a checkpoint beyond the encoder layers.
type Heads uint8

// The heads an Encoder can have.
const (
	HeadPooler          Heads = 1 << iota // pooler.dense (BERT, RoBERTa)
	HeadMLM                               // masked LM: cls.predictions, lm_head, vocab_projector
	HeadNSP                               // cls.seq_relationship: next sentence (BERT; needs the pooler)
	HeadClassifier                        // sequence classification (BERT: needs the pooler)
	HeadTokenClassifier                   // token classification: classifier on every position
	HeadQA                                // extractive question answering: qa_outputs
)

// headClasses name the heads as the Hugging Face classes that end in
// "For" + name do, in bit order.
var headClasses = [...]string{"Pooler", "MaskedLM", "NextSentencePrediction", "SequenceClassification",
	"TokenClassification", "QuestionAnswering"}

// String lists the heads by their Hugging Face class suffixes.
func (h Heads) String() string {
	var parts []string
	for i, name := range headClasses {
		if h&(1<<i) != 0 {
			parts = append(parts, name)
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "|")
}

// EncoderOptions configure LoadEncoder, NewEncoder and the models' Encoder
// methods. The zero value (or nil) keeps float32 weights and loads every head
// the checkpoint holds.
type EncoderOptions struct {
	// Format stores matrices and embedding tables: infer.F32 (zero) packed
	// float32, infer.BF16 bfloat16. LayerNorm parameters and biases stay
	// float32, and every product accumulates in float32.
	Format infer.Format
	// Heads lists the heads to load, each of which must be in the checkpoint
	// (an error names the first missing tensor); HeadNSP and, for BERT,
	// HeadClassifier bring the pooler. Zero loads the heads the checkpoint
	// holds; which one a "classifier" tensor is (BERT: sequence or token
	// classification) comes from config.json's architectures.
	Heads Heads
}

// LoadEncoder reads an Encoder from a Hugging Face model folder
// (config.json and safetensors weights), whichever class of the four
// variants saved it (BertForMaskedLM, DistilBertForQuestionAnswering,
// RobertaForTokenClassification, XLMRobertaModel, …).
func LoadEncoder(dir string, opts *EncoderOptions) (*Encoder, error) {
	cfg, r, err := openFolder(dir)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return buildEncoder(r, weightsPath(dir), cfg, opts, nil)
}

// NewEncoder returns an Encoder with fresh weights drawn by
// infer.HFInit(seed), as benchmarks and examples want them.
func NewEncoder(cfg Config, seed uint64, opts *EncoderOptions) (*Encoder, error) {
	return buildEncoder(nil, "", cfg, opts, infer.HFInit(seed))
}

// Encoder returns an Encoder of m's current weights (a copy: build another
// after they change), for inference right after training.
func (m *Model) Encoder(opts *EncoderOptions) (*Encoder, error) { return encoderOf(m.Config, m, opts) }

// encoderOf builds an Encoder from the parameters of m, read through an
// infer.Tensors of views, under the same names as a checkpoint.
func encoderOf(cfg Config, m nn.Module, opts *EncoderOptions) (*Encoder, error) {
	ts := infer.Tensors{}
	for _, p := range m.Params() {
		ts.Add(p.Name, p.Var.Value.Data(), p.Var.Value.Shape()...)
	}
	return buildEncoder(ts, "memory", cfg, opts, nil)
}

// Workspace holds the activations of Encoder passes. Its zero value is
// ready to use; its buffers grow when a larger batch comes and are otherwise
// reused. A Workspace is used by one goroutine at a time, and the slices the
// Encoder's methods return point into it, valid until its next use.
type Workspace struct {
	B, T int // shape of the last batch

	sc      infer.Scratch
	kv      *infer.KVCache      // one layer: the keys and values of a pass, a row per sequence
	segs    []infer.Segment     // one per sequence, never committed to kv
	valid   []bool              // [B, T] the attention mask as flags
	keyMask [][]bool            // rows of valid
	mask    infer.AttendOptions // KeyMask: keyMask, or nil when nothing is masked

	x, qkv, ctx        []float32 // [N, C] hidden states, [N, 3C] q | k | v, [N, C] attention output
	emb                []float32 // [N, E] embeddings narrower than C, before embeddings_project
	h, ff              []float32 // [N, C] a sublayer's output, [N, F] the feed-forward hidden layer
	tmp                []float32 // [E] a widened bfloat16 embedding row
	first, pooled      []float32 // [B, C] the [CLS] rows, the pooler output
	pre                []float32 // [B, C] a sequence head's hidden layer
	sel, mlm           []float32 // [R, C] the rows of a masked-LM call, their transform
	logits             []float32 // a head's output
	spanStart, spanEnd []float32 // [B, T] question-answering logits
}

// grow returns s resliced to n values, reallocating only when too short.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// start sizes ws for a validated input of cfg's model and plans its pass.
func (ws *Workspace) start(cfg Config, in Input) error {
	B, T, C, F, H := in.B, in.T, cfg.HiddenSize, cfg.Intermediate, cfg.NumHeads
	N := B * T
	ws.B, ws.T = B, T
	ws.x, ws.qkv, ws.ctx = grow(ws.x, N*C), grow(ws.qkv, N*3*C), grow(ws.ctx, N*C)
	ws.h, ws.ff, ws.tmp = grow(ws.h, N*C), grow(ws.ff, N*F), grow(ws.tmp, cfg.EmbedDim())
	if E := cfg.EmbedDim(); E != C {
		ws.emb = grow(ws.emb, N*E)
	}
	ws.first, ws.pooled = grow(ws.first, B*C), grow(ws.pooled, B*C)
	if c := ws.kv; c == nil || c.Rows < B || c.MaxLen < T || c.KVHeads != H || c.HeadDim != C/H {
		kv, err := infer.NewKVCache(1, B, H, C/H, T)
		if err != nil {
			return fmt.Errorf("bert: %w", err)
		}
		ws.kv = kv
	}
	ws.segs = ws.segs[:0]
	for b := range B { // sequence b: rows b·T … b·T+T−1 attend to their T keys
		ws.segs = append(ws.segs, infer.Segment{Row: b, Off: b * T, T: T, Keys: T})
	}
	ws.mask.KeyMask = nil
	if !slices.Contains(in.Mask, 0) {
		return nil
	}
	if cap(ws.valid) < N {
		ws.valid = make([]bool, N)
	}
	ws.valid, ws.keyMask = ws.valid[:N], ws.keyMask[:0]
	for i, v := range in.Mask {
		ws.valid[i] = v == 1
	}
	for b := range B {
		ws.keyMask = append(ws.keyMask, ws.valid[b*T:(b+1)*T])
	}
	ws.mask.KeyMask = ws.keyMask
	return nil
}

// Forward runs the base model over in. It returns the last hidden state
// [B, T, C] and the pooler output [B, C] (nil without a pooler), views into
// ws.
func (e *Encoder) Forward(ws *Workspace, in Input) (hidden, pooled []float32, err error) {
	if err := in.check(e.Config); err != nil {
		return nil, nil, err
	}
	if err := ws.start(e.Config, in); err != nil {
		return nil, nil, err
	}
	B, T, C := in.B, in.T, e.Config.HiddenSize
	e.embed(ws, in)
	for i := range e.layers {
		e.layers[i].forward(ws, &e.attn, e.Config.Activation)
	}
	for b := range B { // x[:, 0]: the [CLS] rows                    [B, C]
		copy(ws.first[b*C:(b+1)*C], ws.x[b*T*C:])
	}
	if e.pooler == nil {
		return ws.x[:B*T*C], nil, nil
	}
	e.pooler.ForwardAct(&ws.sc, ws.pooled, ws.first, B, infer.Tanh) // tanh(first·Wᵀ + b)  [B, C]
	return ws.x[:B*T*C], ws.pooled, nil
}

// embed writes x = LayerNorm(word[id] + position[p] + type[tt]) for every
// token. p is the index t in the row, or for RoBERTa pad + the count of
// non-pad tokens up to t (pad for pad tokens), as Hugging Face's
// create_position_ids_from_input_ids.
func (e *Encoder) embed(ws *Workspace, in Input) {
	E, pad, counted := e.Config.EmbedDim(), e.Config.PadTokenID, e.Config.PositionOffset() > 0
	x := ws.x
	if e.project != nil {
		x = ws.emb // [N, E], projected into ws.x below
	}
	real := 0
	for n, id := range in.IDs {
		row, t := x[n*E:(n+1)*E], n%in.T
		e.word.Lookup(row, id)
		pos := t
		if counted {
			if t == 0 {
				real = 0
			}
			pos = pad
			if id != pad {
				real++
				pos = pad + real
			}
		}
		e.position.AddTo(row, pos, ws.tmp)
		if e.tokenType != nil {
			tt := 0
			if in.TypeIDs != nil {
				tt = in.TypeIDs[n]
			}
			e.tokenType.AddTo(row, tt, ws.tmp)
		}
	}
	e.embNorm.Forward(x, x, len(in.IDs))
	if e.project != nil {
		e.project.Forward(&ws.sc, ws.x, x, len(in.IDs)) // embeddings_project  [N, C]
	}
}

// forward applies the layer to ws.x in place.
func (l *encoderLayer) forward(ws *Workspace, a *infer.Attention, act infer.Activation) {
	N, sc := ws.B*ws.T, &ws.sc
	l.qkv.Forward(sc, ws.qkv, ws.x, N)                             // q | k | v          [N, 3C]
	a.SelfForward(sc, ws.ctx, ws.qkv, ws.kv, 0, ws.segs, &ws.mask) // attention          [N, C]
	l.attnOut.Forward(sc, ws.h, ws.ctx, N)                         //                    [N, C]
	l.attnNorm.AddForward(ws.x, ws.h, N)                           // x = LN(x + h)
	l.inter.ForwardAct(sc, ws.ff, ws.x, N, act)                    // act(x·W₁ᵀ + b₁)    [N, F]
	l.out.Forward(sc, ws.h, ws.ff, N)                              //                    [N, C]
	l.outNorm.AddForward(ws.x, ws.h, N)                            // x = LN(x + h)
}

// Heads reports the heads e has.
func (e *Encoder) Heads() Heads { return e.heads }

// Has reports whether e has every head in h.
func (e *Encoder) Has(h Heads) bool { return e.heads&h == h }

// HeadName returns the checkpoint name of head h in e's variant
// ("cls.predictions", "lm_head", "qa_outputs", …), for messages.
func (e *Encoder) HeadName(h Heads) string { return headName(e.Config.Variant, h) }

func headName(v Variant, h Heads) string {
	switch h {
	case HeadPooler:
		return v.names().base + ".pooler"
	case HeadMLM:
		return v.names().mlm
	case HeadNSP:
		return "cls.seq_relationship"
	case HeadClassifier:
		if n := v.names(); n.seqPre != "" {
			return n.seqPre + " and " + n.seqOut
		}
		return "pooler and classifier"
	case HeadTokenClassifier:
		return "classifier"
	case HeadQA:
		return "qa_outputs"
	}
	return h.String()
}

// missing returns the error of a call that needs head h, which e lacks.
func (e *Encoder) missing(h Heads, task string) error {
	arch := "no architectures in config.json"
	if a := e.Config.Architectures; len(a) > 0 {
		arch = "architectures " + strings.Join(a, ", ")
	}
	return fmt.Errorf("bert: %s needs the %s head (%s), which the model does not have (%s; it has: %v)",
		task, h, e.HeadName(h), arch, e.heads)
}

// MaskedLM returns the masked-LM logits [len(rows), V] of the given rows of
// the hidden state the last Forward on ws produced (row = b·T + t), for
// instance the [MASK] positions: a view into ws.
func (e *Encoder) MaskedLM(ws *Workspace, rows []int) ([]float32, error) {
	h := e.mlm
	if h == nil {
		return nil, e.missing(HeadMLM, "fill-mask")
	}
	C, V, N, R := e.Config.HiddenSize, e.Config.VocabSize, ws.B*ws.T, len(rows)
	ws.sel, ws.mlm, ws.logits = grow(ws.sel, R*C), grow(ws.mlm, R*h.dense.Out), grow(ws.logits, R*V)
	for i, r := range rows { //                                        [R, C]
		if r < 0 || r >= N {
			return nil, fmt.Errorf("bert: masked-LM row %d outside [0, %d)", r, N)
		}
		copy(ws.sel[i*C:(i+1)*C], ws.x[r*C:(r+1)*C])
	}
	h.dense.ForwardAct(&ws.sc, ws.mlm, ws.sel, R, h.act) // transform   [R, C] (ELECTRA: [R, E])
	h.norm.Forward(ws.mlm, ws.mlm, R)
	h.decoder.Forward(&ws.sc, ws.logits, ws.mlm, R) //       [R, V]
	return ws.logits, nil
}

// NextSentence returns the next-sentence logits [B, 2] of the last Forward
// on ws (0 = "B follows A"): a view into ws.
func (e *Encoder) NextSentence(ws *Workspace) ([]float32, error) {
	if e.nsp == nil || e.pooler == nil {
		return nil, e.missing(HeadNSP, "next-sentence prediction")
	}
	ws.logits = grow(ws.logits, ws.B*2)
	e.nsp.Forward(&ws.sc, ws.logits, ws.pooled, ws.B)
	return ws.logits, nil
}

// Classify runs the encoder and the sequence classifier over in and returns
// the logits [B, labels], a view into ws.
func (e *Encoder) Classify(ws *Workspace, in Input) ([]float32, error) {
	h := e.seq
	if h == nil {
		return nil, e.missing(HeadClassifier, "sequence classification")
	}
	if _, _, err := e.Forward(ws, in); err != nil {
		return nil, err
	}
	B, C := in.B, e.Config.HiddenSize
	x := ws.pooled
	if h.pre != nil { // act(x₀·Wᵀ + b)                                 [B, C]
		ws.pre = grow(ws.pre, B*C)
		h.pre.ForwardAct(&ws.sc, ws.pre, ws.first, B, h.act)
		x = ws.pre
	}
	ws.logits = grow(ws.logits, B*h.out.Out)
	h.out.Forward(&ws.sc, ws.logits, x, B) //                          [B, labels]
	return ws.logits, nil
}

// ClassifyTokens runs the encoder and the token classifier over in and
// returns the logits [B, T, labels], a view into ws.
func (e *Encoder) ClassifyTokens(ws *Workspace, in Input) ([]float32, error) {
	return e.everyToken(ws, in, e.tokens, HeadTokenClassifier, "token classification")
}

// AnswerSpans runs the encoder and the question-answering head over in
// and returns the start and end logits [B, T], views into ws.
func (e *Encoder) AnswerSpans(ws *Workspace, in Input) (start, end []float32, err error) {
	logits, err := e.everyToken(ws, in, e.spans, HeadQA, "question answering") // [N, 2]: start | end
	if err != nil {
		return nil, nil, err
	}
	N := in.B * in.T
	ws.spanStart, ws.spanEnd = grow(ws.spanStart, N), grow(ws.spanEnd, N)
	for n := range N {
		ws.spanStart[n], ws.spanEnd[n] = logits[2*n], logits[2*n+1]
	}
	return ws.spanStart, ws.spanEnd, nil
}

// everyToken runs the encoder over in and head h, the Linear l, on every
// position: logits [N, l.Out], a view into ws.
func (e *Encoder) everyToken(ws *Workspace, in Input, l *infer.Linear, h Heads, task string) ([]float32, error) {
	if l == nil {
		return nil, e.missing(h, task)
	}
	x, _, err := e.Forward(ws, in)
	if err != nil {
		return nil, err
	}
	N := in.B * in.T
	ws.logits = grow(ws.logits, N*l.Out)
	l.Forward(&ws.sc, ws.logits, x, N)
	return ws.logits, nil
}
