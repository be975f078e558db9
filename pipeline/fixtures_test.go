package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/nn"
)

// The encoder fixtures of ../shared/fixtures come without tokenizers;
// testenv.IDTokenizer gives them one whose words are their ids.

// idTokenizer writes the id vocabulary's tokenizer.json into a temp folder
// and returns it.
func idTokenizer(t *testing.T, roberta bool) string {
	t.Helper()
	return testenv.IDTokenizer(t, roberta)
}

// fixtureRows returns a fixture's golden inputs as id rows (padding
// dropped), its golden tensors and its folder.
func fixtureRows(t *testing.T, name string) ([][]int, map[string]nn.Tensor, map[string]json.RawMessage, string) {
	t.Helper()
	dir := testenv.Shared(t, "fixtures", name)
	raw, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Inputs map[string]json.RawMessage `json:"inputs"`
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	var ids, mask [][]int
	json.Unmarshal(g.Inputs["input_ids"], &ids)
	json.Unmarshal(g.Inputs["attention_mask"], &mask)
	for b := range ids {
		n := 0
		for _, m := range mask[b] {
			n += m
		}
		ids[b] = ids[b][:n]
	}
	ref, err := nn.ReadTensors(filepath.Join(dir, "golden.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	return ids, ref, g.Inputs, dir
}

// words writes ids as the id vocabulary's text.
func words(ids []int) string {
	w := make([]string, len(ids))
	for i, id := range ids {
		w[i] = fmt.Sprintf("w%d", id)
	}
	return strings.Join(w, " ")
}

// splitPair cuts a row [CLS] A [SEP] B [SEP] (RoBERTa: <s> A </s></s> B
// </s>) into the texts of A and B.
func splitPair(row []int, sep int) (string, string) {
	i := 1
	for row[i] != sep {
		i++
	}
	j := i + 1
	for row[j] == sep {
		j++
	}
	return words(row[1:i]), words(row[j : len(row)-1])
}

func softmaxRow(x []float32) []float64 {
	out := make([]float64, len(x))
	softmax64(out, x)
	return out
}

// TestFixtureTokenClassification: DistilBERT's and RoBERTa's token
// classifiers through the pipeline give every token the argmax of the
// PyTorch logits, scored by its softmax.
func TestFixtureTokenClassification(t *testing.T) {
	for _, tc := range []struct {
		name    string
		roberta bool
	}{{"distilbert-tiny-tokcls", false}, {"roberta-tiny-tokcls", true}} {
		t.Run(tc.name, func(t *testing.T) {
			rows, ref, _, dir := fixtureRows(t, tc.name)
			p, err := LoadTokenClassification(context.Background(), dir, &Options{Tokenizer: idTokenizer(t, tc.roberta)})
			if err != nil {
				t.Fatal(err)
			}
			texts := make([]string, len(rows))
			for b, r := range rows {
				texts[b] = words(r[1 : len(r)-1])
			}
			out, err := p.Run(context.Background(), texts, &TokenClassificationOptions{IgnoreLabels: []string{}})
			if err != nil {
				t.Fatal(err)
			}
			logits := ref["forward.logits"]
			T, L := logits.Shape[1], logits.Shape[2]
			for b, ents := range out {
				if len(ents) != len(rows[b])-2 {
					t.Fatalf("row %d: %d entities for %d words", b, len(ents), len(rows[b])-2)
				}
				for _, e := range ents {
					probs := softmaxRow(logits.Data[(b*T+e.Index)*L : (b*T+e.Index+1)*L])
					k := argmax(probs)
					if e.Entity != p.m.enc.Config.LabelName(k) || math.Abs(e.Score-probs[k]) > 1e-4*probs[k] {
						t.Errorf("row %d token %d: %s %g, want %s %g", b, e.Index, e.Entity, e.Score, p.m.enc.Config.LabelName(k), probs[k])
					}
					if want := fmt.Sprintf("w%d", rows[b][e.Index]); texts[b][e.Start:e.End] != want || e.Word != want {
						t.Errorf("row %d token %d: word %q at [%d, %d), want %q", b, e.Index, e.Word, e.Start, e.End, want)
					}
				}
			}
		})
	}
}

// TestFixtureTextClassification: DistilBERT's (pre_classifier, ReLU) and
// RoBERTa's (dense, tanh, out_proj; a pair) sequence classifiers give the
// softmax of the PyTorch logits, every label, best first.
func TestFixtureTextClassification(t *testing.T) {
	for _, tc := range []struct {
		name    string
		roberta bool
		sep     int
	}{{"distilbert-tiny-cls", false, 102}, {"roberta-tiny-cls", true, 2}} {
		t.Run(tc.name, func(t *testing.T) {
			rows, ref, _, dir := fixtureRows(t, tc.name)
			p, err := LoadTextClassification(context.Background(), dir, &Options{Tokenizer: idTokenizer(t, tc.roberta)})
			if err != nil {
				t.Fatal(err)
			}
			var inputs []TextInput
			for _, r := range rows {
				if tc.roberta {
					a, b := splitPair(r, tc.sep)
					inputs = append(inputs, TextInput{Text: a, TextPair: b})
				} else {
					inputs = append(inputs, TextInput{Text: words(r[1 : len(r)-1])})
				}
			}
			out, err := p.Run(context.Background(), inputs, &TextClassificationOptions{TopK: AllLabels})
			if err != nil {
				t.Fatal(err)
			}
			L := p.m.enc.Config.Labels()
			for b, scores := range out {
				probs := softmaxRow(ref["forward.logits"].Data[b*L : (b+1)*L])
				if scores[0].Label != p.m.enc.Config.LabelName(argmax(probs)) {
					t.Errorf("row %d: best %s, want %s", b, scores[0].Label, p.m.enc.Config.LabelName(argmax(probs)))
				}
				for _, s := range scores {
					k := p.m.enc.Config.Label2ID[s.Label]
					if math.Abs(s.Score-probs[k]) > 1e-4 {
						t.Errorf("row %d %s: %g, want %g", b, s.Label, s.Score, probs[k])
					}
				}
			}
		})
	}
}

// TestFixtureQuestionAnswering: DistilBERT's and RoBERTa's span heads
// through the pipeline find the best span of the PyTorch logits (of at most
// 15 tokens, inside the context), with its probability.
func TestFixtureQuestionAnswering(t *testing.T) {
	for _, tc := range []struct {
		name    string
		roberta bool
		sep     int
	}{{"distilbert-tiny-qa", false, 102}, {"roberta-tiny-qa", true, 2}} {
		t.Run(tc.name, func(t *testing.T) {
			rows, ref, inputs, dir := fixtureRows(t, tc.name)
			var ctxStart []int
			json.Unmarshal(inputs["context_start_index"], &ctxStart)
			p, err := LoadQuestionAnswering(context.Background(), dir, &Options{Tokenizer: idTokenizer(t, tc.roberta)})
			if err != nil {
				t.Fatal(err)
			}
			var in []QAInput
			for _, r := range rows {
				q, c := splitPair(r, tc.sep)
				in = append(in, QAInput{Question: q, Context: c})
			}
			out, err := p.Run(context.Background(), in, nil)
			if err != nil {
				t.Fatal(err)
			}
			T := ref["forward.start_logits"].Shape[1]
			for b, r := range rows {
				// The reference: softmaxes over the context and [CLS],
				// [CLS] then dropped, the best span of ≤ 15 tokens.
				ok := make([]bool, len(r))
				ok[0] = true
				for i := ctxStart[b]; i < len(r)-1; i++ {
					ok[i] = true
				}
				ps := maskedSoftmax(ref["forward.start_logits"].Data[b*T:b*T+len(r)], ok)
				pe := maskedSoftmax(ref["forward.end_logits"].Data[b*T:b*T+len(r)], ok)
				best, bs, be := 0.0, 0, 0
				for s := ctxStart[b]; s < len(r)-1; s++ {
					for e := s; e < min(len(r)-1, s+15); e++ {
						if v := ps[s] * pe[e]; v > best {
							best, bs, be = v, s, e
						}
					}
				}
				want := words(r[bs : be+1])
				a := out[b][0]
				if a.Answer != want || math.Abs(a.Score-best) > 1e-4*best || in[b].Context[a.Start:a.End] != want {
					t.Errorf("row %d: %+v, want %q %g", b, a, want, best)
				}
			}
		})
	}
}

// TestFixtureFillMask: RoBERTa's masked-LM head (lm_head, exact GELU, tied
// decoder) puts the argmax of the PyTorch logits first at every <mask>.
func TestFixtureFillMask(t *testing.T) {
	rows, ref, _, dir := fixtureRows(t, "roberta-tiny-mlm")
	p, err := LoadFillMask(context.Background(), dir, &Options{Tokenizer: idTokenizer(t, true)})
	if err != nil {
		t.Fatal(err)
	}
	if p.MaskToken() != "<mask>" {
		t.Errorf("mask token %q", p.MaskToken())
	}
	texts := make([]string, len(rows))
	for b, r := range rows {
		texts[b] = strings.ReplaceAll(words(r[1:len(r)-1]), "w999", "<mask>")
	}
	out, err := p.Run(context.Background(), texts, &FillMaskOptions{TopK: 2})
	if err != nil {
		t.Fatal(err)
	}
	logits := ref["forward.logits"]
	T, V := logits.Shape[1], logits.Shape[2]
	for b, r := range rows {
		m := 0
		for pos, id := range r {
			if id != 999 {
				continue
			}
			probs := softmaxRow(logits.Data[(b*T+pos)*V : (b*T+pos+1)*V])
			k := argmax(probs)
			if got := out[b][m][0]; got.Token != k || math.Abs(got.Score-probs[k]) > 1e-4*probs[k] {
				t.Errorf("row %d mask %d: %+v, want token %d p=%g", b, m, got, k, probs[k])
			}
			m++
		}
		if m != len(out[b]) {
			t.Errorf("row %d: %d masks, %d lists", b, m, len(out[b]))
		}
	}
}

// TestSentenceTransformers loads minilm-sentence-tiny as
// sentence-transformers lays it out: mean pooling (1_Pooling), Normalize
// (named in modules.json only), max_seq_length 32; its embeddings match
// PyTorch's sentence_embedding within 1e-5.
func TestSentenceTransformers(t *testing.T) {
	rows, ref, _, dir := fixtureRows(t, "minilm-sentence-tiny")
	p, err := LoadFeatureExtraction(context.Background(), dir, &Options{Tokenizer: idTokenizer(t, false)})
	if err != nil {
		t.Fatal(err)
	}
	if p.m.maxLen != 32 || len(p.pooling) != 1 || p.pooling[0] != PoolMean || !p.normalize {
		t.Fatalf("layout: max length %d, pooling %v, normalize %v", p.m.maxLen, p.pooling, p.normalize)
	}
	texts := make([]string, len(rows))
	for b, r := range rows {
		texts[b] = words(r[1 : len(r)-1])
	}
	vecs, err := p.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	want := ref["forward.sentence_embedding"]
	C := want.Shape[1]
	for b, v := range vecs {
		for c := range C {
			if d := math.Abs(float64(v[c] - want.Data[b*C+c])); d > 1e-5 {
				t.Fatalf("row %d dim %d: %g, want %g", b, c, v[c], want.Data[b*C+c])
			}
		}
	}
	// Mean pooling without Normalize is the golden mean_pooled.
	no := false
	fs, err := p.Run(context.Background(), texts, &FeatureExtractionOptions{Normalize: &no})
	if err != nil {
		t.Fatal(err)
	}
	mean := ref["forward.mean_pooled"]
	for b, f := range fs {
		for c := range C {
			if d := math.Abs(float64(f.Data[c] - mean.Data[b*C+c])); d > 1e-4 {
				t.Fatalf("mean_pooled row %d dim %d: %g, want %g", b, c, f.Data[c], mean.Data[b*C+c])
			}
		}
	}
	// A text longer than max_seq_length is cut to 32 tokens.
	long := strings.Repeat("w200 ", 50)
	fs, err = p.Run(context.Background(), []string{long}, &FeatureExtractionOptions{Pooling: PoolNone})
	if err != nil || fs[0].Rows != 32 {
		t.Errorf("a long text: %v rows, %v", fs[0].Rows, err)
	}
}
