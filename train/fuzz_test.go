package train

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadMetricsLog feeds arbitrary metrics.jsonl contents to the reader
// a resumed run uses: errors are fine, panics are not, and every record
// read must survive a re-encode.
func FuzzReadMetricsLog(f *testing.F) {
	f.Add([]byte(`{"time":"2026-01-02T03:04:05Z","step":1,"split":"train","loss":2.5,"lr":0.001}` + "\n"))
	f.Add([]byte("{\"step\":1}\n\n{\"step\":2,\"metrics\":{\"acc\":0.5}}\n{\"step\":3"))
	f.Add([]byte("{\"step\":\"x\"}\n"))
	f.Add([]byte("\n\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "metrics.jsonl")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		recs, err := ReadMetricsLog(path)
		if err != nil {
			return
		}
		for _, r := range recs {
			if _, err := json.Marshal(r); err != nil {
				// NaN cannot come from JSON; anything else Marshal rejects is
				// a record the writer could not write back.
				t.Fatalf("record %+v does not re-encode: %v", r, err)
			}
		}
	})
}

// FuzzRNGStateJSON decodes arbitrary rng.json contents and restores the
// result into a generator: errors are fine, panics are not.
func FuzzRNGStateJSON(f *testing.F) {
	f.Add([]byte(`{"data":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="}`))
	f.Add([]byte(`{"data":"cGNnOgAAAAAAAAABAAAAAAAAAAIAAAAAAAAAAwAAAAAAAAAE"}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"data":"!"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var st RNGState
		if err := json.Unmarshal(data, &st); err != nil {
			return
		}
		if len(st) == 0 {
			return
		}
		gens := map[string]*rand.PCG{}
		for name := range st {
			gens[name] = rand.NewPCG(1, 2)
		}
		_ = st.Restore(gens)
	})
}

// FuzzTextMetrics runs the text metrics on arbitrary prediction/reference
// pairs: scores must stay within [0, 1] (BLEU within [0, 100]).
func FuzzTextMetrics(f *testing.F) {
	f.Add("The cat sat on the mat.", "the cat is on the mat")
	f.Add("", "")
	f.Add("a\u00a0b-c", "\xff\xfe 1,000.5")
	f.Fuzz(func(t *testing.T, hyp, ref string) {
		in01 := func(name string, v float64) {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("%s = %v for %q vs %q", name, v, hyp, ref)
			}
		}
		in01("ExactMatch", ExactMatch(hyp, ref))
		in01("TokenF1", TokenF1(hyp, ref))
		r := RougeScores(hyp, ref)
		in01("ROUGE-1", r.R1.F1)
		in01("ROUGE-2", r.R2.F1)
		in01("ROUGE-L", r.RL.F1)
		b, err := CorpusBLEU([]string{hyp}, [][]string{{ref}})
		if err == nil && !(b.Score >= 0 && b.Score <= 100) {
			t.Fatalf("BLEU = %v for %q vs %q", b.Score, hyp, ref)
		}
	})
}
