package bert

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/nn"
)

// encoderGolden is the part of an encoder fixture's golden.json these tests
// read (../shared/fixtures/README.md, "Encoder folders").
type encoderGolden struct {
	Inputs struct {
		IDs     [][]int         `json:"input_ids"`
		Mask    [][]int         `json:"attention_mask"`
		TypeIDs json.RawMessage `json:"token_type_ids"` // a list, or a note that none are passed
	} `json:"inputs"`
	LeftPadded *struct {
		IDs  [][]int `json:"input_ids"`
		Mask [][]int `json:"attention_mask"`
	} `json:"left_padded"`
}

// encoderFixture loads a fixture folder as an Encoder with its golden
// tensors and input.
func encoderFixture(t *testing.T, name string) (*Encoder, encoderGolden, map[string]nn.Tensor, Input) {
	t.Helper()
	dir := testenv.Shared(t, "fixtures", name)
	raw, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g encoderGolden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	ref, err := nn.ReadTensors(filepath.Join(dir, "golden.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	enc, err := LoadEncoder(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	in := Input{B: len(g.Inputs.IDs), T: len(g.Inputs.IDs[0]), IDs: flatten(g.Inputs.IDs), Mask: flatten(g.Inputs.Mask)}
	var types [][]int
	if json.Unmarshal(g.Inputs.TypeIDs, &types) == nil {
		in.TypeIDs = flatten(types)
	}
	return enc, g, ref, in
}

// TestVariantFixtures checks DistilBERT, RoBERTa, XLM-RoBERTa and the
// sentence-transformers MiniLM (a BertModel) against their PyTorch
// goldens: the last hidden state and each head's output on the valid
// positions, within the fixtures' 1e-4.
func TestVariantFixtures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		variant Variant
		heads   Heads
	}{
		{"distilbert-tiny-tokcls", DistilBert, HeadTokenClassifier},
		{"distilbert-tiny-qa", DistilBert, HeadQA},
		{"distilbert-tiny-cls", DistilBert, HeadClassifier},
		{"roberta-tiny-tokcls", Roberta, HeadTokenClassifier},
		{"roberta-tiny-qa", Roberta, HeadQA},
		{"roberta-tiny-cls", Roberta, HeadClassifier},
		{"roberta-tiny-mlm", Roberta, HeadMLM},
		{"xlmr-tiny", XLMRoberta, HeadPooler},
		{"minilm-sentence-tiny", Bert, HeadPooler},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc, g, ref, in := encoderFixture(t, tc.name)
			if enc.Config.Variant != tc.variant || enc.Heads() != tc.heads {
				t.Fatalf("variant %v heads %v, want %v %v", enc.Config.Variant, enc.Heads(), tc.variant, tc.heads)
			}
			C := enc.Config.HiddenSize
			var ws Workspace
			hidden, pooled, err := enc.Forward(&ws, in)
			if err != nil {
				t.Fatal(err)
			}
			report(t, "last_hidden_state", maxDiffRows(hidden, ref["forward.last_hidden_state"].Data, in.Mask, C), tolHidden)
			if pooled != nil {
				report(t, "pooler_output", maxDiffRows(pooled, ref["forward.pooler_output"].Data, nil, C), tolHidden)
			}
			switch tc.heads {
			case HeadTokenClassifier:
				logits, err := enc.ClassifyTokens(&ws, in)
				if err != nil {
					t.Fatal(err)
				}
				n := enc.Config.Labels()
				report(t, "logits", maxDiffRows(logits, ref["forward.logits"].Data, in.Mask, n), tolHidden)
				if g.LeftPadded != nil { // RoBERTa's positions count real tokens only
					left := Input{B: in.B, T: in.T, IDs: flatten(g.LeftPadded.IDs), Mask: flatten(g.LeftPadded.Mask)}
					logits, err := enc.ClassifyTokens(&ws, left)
					if err != nil {
						t.Fatal(err)
					}
					report(t, "left-padded logits", maxDiffRows(logits, ref["forward.left_padded.logits"].Data, left.Mask, n), tolHidden)
				}
			case HeadQA:
				start, end, err := enc.AnswerSpans(&ws, in)
				if err != nil {
					t.Fatal(err)
				}
				report(t, "start_logits", maxDiffRows(start, ref["forward.start_logits"].Data, in.Mask, 1), tolHidden)
				report(t, "end_logits", maxDiffRows(end, ref["forward.end_logits"].Data, in.Mask, 1), tolHidden)
			case HeadClassifier:
				logits, err := enc.Classify(&ws, in)
				if err != nil {
					t.Fatal(err)
				}
				report(t, "logits", maxDiffRows(logits, ref["forward.logits"].Data, nil, enc.Config.Labels()), tolHidden)
			case HeadMLM:
				rows := make([]int, in.B*in.T)
				for i := range rows {
					rows[i] = i
				}
				logits, err := enc.MaskedLM(&ws, rows)
				if err != nil {
					t.Fatal(err)
				}
				report(t, "logits", maxDiffRows(logits, ref["forward.logits"].Data, in.Mask, enc.Config.VocabSize), tolHidden)
			}
		})
	}
}

// TestMissingHead asks models for heads they lack: the error names the
// head, its checkpoint name and the model's architectures.
func TestMissingHead(t *testing.T) {
	enc, _, _, in := encoderFixture(t, "roberta-tiny-tokcls")
	var ws Workspace
	_, _, err := enc.AnswerSpans(&ws, in)
	if err == nil || !strings.Contains(err.Error(), "QuestionAnswering") || !strings.Contains(err.Error(), "qa_outputs") ||
		!strings.Contains(err.Error(), "RobertaForTokenClassification") {
		t.Errorf("AnswerSpans on a token classifier: %v", err)
	}
	if _, err := LoadEncoder(testenv.Shared(t, "fixtures", "distilbert-tiny-qa"), &EncoderOptions{Heads: HeadClassifier}); err == nil ||
		!strings.Contains(err.Error(), "pre_classifier.weight") {
		t.Errorf("a DistilBERT QA model loaded as a classifier: %v", err)
	}
}

// TestDistilBertIgnoresTypes: DistilBERT has no token-type embeddings, so
// the type ids a BERT tokenizer gives a pair change nothing.
func TestDistilBertIgnoresTypes(t *testing.T) {
	enc, _, _, in := encoderFixture(t, "distilbert-tiny-qa")
	var ws Workspace
	a, _, err := enc.AnswerSpans(&ws, in)
	if err != nil {
		t.Fatal(err)
	}
	a = append([]float32(nil), a...)
	in.TypeIDs = make([]int, len(in.IDs))
	for i := range in.TypeIDs {
		in.TypeIDs[i] = i % 2
	}
	b, _, err := enc.AnswerSpans(&ws, in)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiffRows(a, b, nil, 1); d != 0 {
		t.Errorf("type ids changed the start logits by %g", d)
	}
}

func TestParseVariant(t *testing.T) {
	for _, tc := range []struct {
		json    string
		variant Variant
		err     string
	}{
		{`{"model_type": "roberta"}`, Roberta, ""},
		{`{"model_type": "xlm-roberta"}`, XLMRoberta, ""},
		{`{"architectures": ["DistilBertForMaskedLM"], "dim": 64, "n_heads": 4, "n_layers": 1, "hidden_dim": 128}`, DistilBert, ""},
		{`{"architectures": ["XLMRobertaForTokenClassification"]}`, XLMRoberta, ""},
		{`{"model_type": "gpt2"}`, 0, "not an encoder"},
		{`{"architectures": ["GPT2LMHeadModel"]}`, 0, "not BERT"},
		{`{"model_type": "roberta", "max_position_embeddings": 2, "pad_token_id": 1}`, 0, "no position"},
	} {
		c, err := ParseConfig([]byte(tc.json))
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: %v, want an error about %q", tc.json, err, tc.err)
		case tc.err == "" && (err != nil || c.Variant != tc.variant):
			t.Errorf("%s: %v %v, want %v", tc.json, c.Variant, err, tc.variant)
		}
	}
	c, err := ParseConfig([]byte(`{"model_type": "distilbert", "dim": 64, "n_heads": 4, "n_layers": 3, "hidden_dim": 128, "activation": "relu"}`))
	if err != nil || c.HiddenSize != 64 || c.NumHeads != 4 || c.NumLayers != 3 || c.Intermediate != 128 || c.HiddenAct != "relu" || c.LayerNormEps != 1e-12 {
		t.Errorf("DistilBERT keys: %+v, %v", c, err)
	}
}

// TestBertHeads checks BertForTokenClassification, BertForQuestionAnswering,
// BertForSequenceClassification, BertForMaskedLM and BertModel against the
// PyTorch outputs of ../shared/golden/hf_pipelines/model_outputs.*, three
// inputs per model.
func TestBertHeads(t *testing.T) {
	dir := testenv.Shared(t, "golden", "hf_pipelines")
	raw, err := os.ReadFile(filepath.Join(dir, "model_outputs.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Models map[string][]struct {
			IDs     [][]int `json:"input_ids"`
			TypeIDs [][]int `json:"token_type_ids"`
			Mask    [][]int `json:"attention_mask"`
			MaskPos int     `json:"mask_position"`
			Outputs map[string]struct {
				Tensor string `json:"tensor"`
			} `json:"outputs"`
		} `json:"models"`
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	ref, err := nn.ReadTensors(filepath.Join(dir, "model_outputs.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	heads := map[string]Heads{"bert-tiny-ner": HeadTokenClassifier, "bert-tiny-qa": HeadQA, "bert-tiny-embed": HeadPooler,
		"bert-tiny-nli": HeadPooler | HeadClassifier, "bert-tiny-mlm": HeadMLM}
	for name, cases := range g.Models {
		t.Run(name, func(t *testing.T) {
			enc, err := LoadEncoder(filepath.Join(dir, "models", name), nil)
			if err != nil {
				t.Fatal(err)
			}
			if enc.Heads() != heads[name] {
				t.Fatalf("heads %v, want %v", enc.Heads(), heads[name])
			}
			var ws Workspace
			for _, c := range cases {
				in := Input{B: 1, T: len(c.IDs[0]), IDs: c.IDs[0], TypeIDs: c.TypeIDs[0], Mask: c.Mask[0]}
				want := func(out string) []float32 { return ref[c.Outputs[out].Tensor].Data }
				var got map[string][]float32
				switch enc.Heads() {
				case HeadTokenClassifier:
					l, err := enc.ClassifyTokens(&ws, in)
					if err != nil {
						t.Fatal(err)
					}
					got = map[string][]float32{"logits": l}
				case HeadQA:
					s, e, err := enc.AnswerSpans(&ws, in)
					if err != nil {
						t.Fatal(err)
					}
					got = map[string][]float32{"start_logits": s, "end_logits": e}
				case HeadPooler | HeadClassifier:
					l, err := enc.Classify(&ws, in)
					if err != nil {
						t.Fatal(err)
					}
					got = map[string][]float32{"logits": l}
				default:
					h, p, err := enc.Forward(&ws, in)
					if err != nil {
						t.Fatal(err)
					}
					got = map[string][]float32{"last_hidden_state": h, "pooler_output": p}
					if enc.Has(HeadMLM) {
						l, err := enc.MaskedLM(&ws, []int{c.MaskPos})
						if err != nil {
							t.Fatal(err)
						}
						got["logits_at_mask"] = l
					}
				}
				for out := range c.Outputs {
					report(t, out, maxDiffRows(got[out], want(out), nil, len(want(out))), tolHidden)
				}
			}
		})
	}
}
