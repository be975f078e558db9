package pipeline

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/tokenizer"
	tokauto "github.com/glossa-ai/glossa/tokenizer/auto"
)

// BenchmarkPipelines measures each pipeline's throughput against the bare
// model on BERT-base (random weights, the bert-base-uncased tokenizer), a
// batch of 32 real inputs from the hf_pipelines goldens per iteration:
//
//	<task>/forward   the encoder and the task's head on the pre-tokenized,
//	                 padded batch (fill-mask: the MLM head on the mask rows)
//	<task>/pipeline  Run: tokenization, padding, the same forward pass and
//	                 Hugging Face's post-processing
//	<task>/overhead  Run on the task's hf_pipelines tiny model (2 layers,
//	                 12 wide, same tokenizer): tokenization, padding and
//	                 post-processing at the price of a nearly free forward
//	                 pass — an upper bound of what the pipeline adds
//
// Each reports examples/s; the pipeline's share of the time is
// forward's examples/s over overhead's.
func BenchmarkPipelines(b *testing.B) {
	tok, err := tokauto.Load(testenv.Shared(b, "tokenizers", "bert-base-uncased"))
	if err != nil {
		b.Fatal(err)
	}
	texts := benchInputs(b, "token_classification.jsonl", "inputs")
	masked := benchInputs(b, "fill_mask.jsonl", "inputs")
	questions, contexts := benchInputs(b, "question_answering.jsonl", "question"), benchInputs(b, "question_answering.jsonl", "context")
	qa := make([]QAInput, len(questions))
	for i := range qa {
		qa[i] = QAInput{questions[i], contexts[i]}
	}
	pairs := make([]TextInput, len(qa))
	for i, q := range qa {
		pairs[i] = TextInput{Text: q.Context, TextPair: q.Question, Pair: true}
	}
	labels := []string{"sports", "politics", "technology"}
	ctx := context.Background()

	newModel := func(heads bert.Heads, labels ...string) *model {
		cfg := bert.Base()
		if len(labels) > 0 {
			cfg.ID2Label, cfg.Label2ID = map[int]string{}, map[string]int{}
			for i, l := range labels {
				cfg.ID2Label[i], cfg.Label2ID[l] = l, i
			}
		}
		enc, err := bert.NewEncoder(cfg, 1, &bert.EncoderOptions{Heads: heads})
		if err != nil {
			b.Fatal(err)
		}
		m, err := newModelFor(enc, tok)
		if err != nil {
			b.Fatal(err)
		}
		return m
	}
	ner := newModel(bert.HeadTokenClassifier, "O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC")
	nli := newModel(bert.HeadClassifier, "entailment", "neutral", "contradiction")
	mlm, span, base := newModel(bert.HeadMLM), newModel(bert.HeadQA), newModel(bert.HeadPooler)
	yes := true
	tiny := func(name string) *model { return goldenPipelineTB(b, name) }
	for _, tc := range []struct {
		name    string
		tiny    string // the hf_pipelines model of the task
		m       *model
		n       int                                                                    // examples per iteration
		encs    func() []*tokenizer.Encoding                                           // the forward pass's sequences
		forward func(ws *bert.Workspace, in bert.Input, e []*tokenizer.Encoding) error // the bare model
		run     func(m *model) error                                                   // the pipeline
	}{
		{"token-classification", "bert-tiny-ner", ner, len(texts), func() []*tokenizer.Encoding { return mustEncode(b, ner.trunc, texts, nil) },
			func(ws *bert.Workspace, in bert.Input, _ []*tokenizer.Encoding) error {
				_, err := ner.enc.ClassifyTokens(ws, in)
				return err
			},
			func(m *model) error {
				_, err := (&TokenClassification{m: m, wordAware: true}).Run(ctx, texts, &TokenClassificationOptions{AggregationStrategy: AggregateSimple})
				return err
			}},
		{"fill-mask", "bert-tiny-mlm", mlm, len(masked), func() []*tokenizer.Encoding { return mustEncode(b, mlm.tok, masked, nil) },
			func(ws *bert.Workspace, in bert.Input, _ []*tokenizer.Encoding) error {
				var rows []int
				for i, id := range in.IDs {
					if id == mlm.special.mask {
						rows = append(rows, i)
					}
				}
				if _, _, err := mlm.enc.Forward(ws, in); err != nil {
					return err
				}
				_, err := mlm.enc.MaskedLM(ws, rows)
				return err
			},
			func(m *model) error { _, err := (&FillMask{m}).Run(ctx, masked, nil); return err }},
		{"question-answering", "bert-tiny-qa", span, len(qa), func() []*tokenizer.Encoding {
			st, _ := (&QuestionAnswering{span}).settings(&QAOptions{})
			feats, _, err := (&QuestionAnswering{span}).features(qa, st)
			if err != nil {
				b.Fatal(err)
			}
			var encs []*tokenizer.Encoding
			for _, f := range feats {
				encs = append(encs, f.enc)
			}
			return encs
		},
			func(ws *bert.Workspace, in bert.Input, _ []*tokenizer.Encoding) error {
				_, _, err := span.enc.AnswerSpans(ws, in)
				return err
			},
			func(m *model) error { _, err := (&QuestionAnswering{m}).Run(ctx, qa, &QAOptions{TopK: 3}); return err }},
		{"text-classification", "bert-tiny-nli", nli, len(pairs), func() []*tokenizer.Encoding {
			encs, err := encodeInputs(nli.trunc, pairs, nli.maxLen)
			if err != nil {
				b.Fatal(err)
			}
			return encs
		},
			func(ws *bert.Workspace, in bert.Input, _ []*tokenizer.Encoding) error {
				_, err := nli.enc.Classify(ws, in)
				return err
			},
			func(m *model) error {
				_, err := (&TextClassification{m}).Run(ctx, pairs, &TextClassificationOptions{TopK: AllLabels, Truncation: true})
				return err
			}},
		{"feature-extraction", "bert-tiny-embed", base, len(texts), func() []*tokenizer.Encoding { return mustEncode(b, base.trunc, texts, nil) },
			func(ws *bert.Workspace, in bert.Input, _ []*tokenizer.Encoding) error {
				_, _, err := base.enc.Forward(ws, in)
				return err
			},
			func(m *model) error {
				_, err := (&FeatureExtraction{m: m}).Run(ctx, texts, &FeatureExtractionOptions{Pooling: PoolMean, Normalize: &yes})
				return err
			}},
		{"zero-shot-classification", "bert-tiny-nli", nli, len(texts), func() []*tokenizer.Encoding {
			var ps []TextInput
			for _, t := range texts {
				for _, l := range labels {
					ps = append(ps, TextInput{Text: t, TextPair: "This example is " + l + ".", Pair: true})
				}
			}
			encs, err := encodeInputs(nli.trunc, ps, nli.maxLen)
			if err != nil {
				b.Fatal(err)
			}
			return encs
		},
			func(ws *bert.Workspace, in bert.Input, _ []*tokenizer.Encoding) error {
				_, err := nli.enc.Classify(ws, in)
				return err
			},
			func(m *model) error {
				_, err := (&ZeroShot{m: m, entailment: 0, contradiction: 2}).Run(ctx, texts, labels, nil)
				return err
			}},
	} {
		b.Run(tc.name+"/forward", func(b *testing.B) {
			encs := tc.encs()
			for b.Loop() {
				if err := tc.m.batches(ctx, encs, tc.forward); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(tc.n*b.N)/b.Elapsed().Seconds(), "examples/s")
		})
		for _, v := range []struct {
			name string
			m    *model
		}{{"pipeline", tc.m}, {"overhead", tiny(tc.tiny)}} {
			b.Run(tc.name+"/"+v.name, func(b *testing.B) {
				for b.Loop() {
					if err := tc.run(v.m); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(tc.n*b.N)/b.Elapsed().Seconds(), "examples/s")
			})
		}
	}
}

// benchInputs returns the first 32 distinct values of field in a goldens
// file, skipping empty ones and the ones longer than 400 bytes.
func benchInputs(b *testing.B, file, field string) []string {
	var out []string
	seen := map[string]bool{}
	for _, g := range readGoldenTB(b, file) {
		raw := map[string]json.RawMessage{"inputs": g.Inputs, "question": g.Question, "context": g.Context}[field]
		var s string
		if json.Unmarshal(raw, &s) != nil || s == "" || len(s) > 400 || seen[g.Case] {
			continue
		}
		seen[g.Case] = true
		out = append(out, s)
	}
	for len(out) < 32 { // repeat to fill the batch
		out = append(out, out[len(out)%len(seen)])
	}
	return out[:32]
}

func mustEncode(b *testing.B, tok *tokenizer.Tokenizer, texts, pairs []string) []*tokenizer.Encoding {
	encs, err := encodeAll(tok, texts, pairs, 512)
	if err != nil {
		b.Fatal(err)
	}
	return encs
}

// newModelFor is newModel for an encoder built in memory.
func newModelFor(enc *bert.Encoder, tok *tokenizer.Tokenizer) (*model, error) {
	return newModel(enc, "", tok, tokenizerConfig{}, 32)
}

// goldenPipelineTB loads the model of an hf_pipelines folder.
func goldenPipelineTB(b *testing.B, name string) *model {
	m, err := loadModel(context.Background(), "", testenv.Shared(b, "golden", "hf_pipelines", "models", name), nil, 0)
	if err != nil {
		b.Fatal(err)
	}
	return m
}
