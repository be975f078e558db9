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
