package seq2seq

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/generate"
	"github.com/glossa-ai/glossa/internal/testenv"
)

// Bad input gets a clear error, never a panic.
func TestBadInput(t *testing.T) {
	m, err := Load(testenv.Shared(t, "fixtures", "marian-tiny"), nil)
	if err != nil {
		t.Fatal(err)
	}
	// max_position_embeddings is 64: a 65-token source is refused, a
	// 64-token one is not.
	long := make([]int, 65)
	long[64] = 0
	if _, err := m.EncodeRows([][]int{long}); !errors.Is(err, ErrTooLong) {
		t.Errorf("65-token source: %v, want ErrTooLong", err)
	}
	if _, err := m.EncodeRows([][]int{long[:64]}); err != nil {
		t.Errorf("64-token source: %v", err)
	}
	// Padding past the limit is fine when the real tokens fit.
	ids := make([]int, 2*70)
	mask := make([]bool, 2*70)
	for i := range 10 {
		mask[i], mask[70+i] = true, true
	}
	if _, err := m.Encode(ids, mask, 2); err != nil {
		t.Errorf("short sources padded to 70: %v", err)
	}
	mask[70+3] = false
	for i := range 10 {
		mask[70+i] = false
	}
	if _, err := m.Encode(ids, mask, 2); !errors.Is(err, ErrEmptySource) {
		t.Errorf("an all-padding row: %v, want ErrEmptySource", err)
	}
	if _, err := m.EncodeRows([][]int{{}}); !errors.Is(err, ErrEmptySource) {
		t.Errorf("empty source: %v, want ErrEmptySource", err)
	}
	for _, tc := range []struct {
		ids  []int
		mask []bool
		B    int
	}{
		{[]int{5, 1000}, nil, 1}, // outside the vocabulary
		{[]int{5, -1}, nil, 1},
		{[]int{1, 2, 3}, nil, 2},             // does not split
		{[]int{1, 2}, []bool{true}, 1},       // mask length
		{nil, nil, 1},                        // nothing
		{[]int{1, 2}, []bool{true, true}, 0}, // no rows
	} {
		if _, err := m.Encode(tc.ids, tc.mask, tc.B); err == nil {
			t.Errorf("Encode(%v, %v, %d) accepted", tc.ids, tc.mask, tc.B)
		}
	}
	mem, err := m.EncodeRows([][]int{{5, 6, 0}, {7, 0}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mem.Decoder().NewState(3, 8); err == nil {
		t.Error("3 state rows over 2 sources accepted")
	}
	other, _ := m.EncodeRows([][]int{{5, 0}, {7, 0}})
	s, _ := other.Decoder().NewState(2, 8)
	if _, err := mem.Decoder().Forward(s, []int{999, 999}, nil); err == nil {
		t.Error("a state of another memory accepted")
	}
	mt, _ := Load(testenv.Shared(t, "fixtures", "t5-tiny"), nil)
	if _, err := mt.Generate(context.Background(), mem, generate.Options{MaxNewTokens: 2}); err == nil {
		t.Error("a memory of another model accepted")
	}
}

// copyFixture copies a fixture's model.safetensors into a new folder with
// the given config.json and generation_config.json (nil: none).
func copyFixture(t *testing.T, name string, config, gen map[string]any) string {
	t.Helper()
	src := testenv.Shared(t, "fixtures", name)
	dir := t.TempDir()
	w, err := os.ReadFile(filepath.Join(src, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(n string, v any) {
		b, _ := json.Marshal(v)
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "model.safetensors"), w, 0o644); err != nil {
		t.Fatal(err)
	}
	write("config.json", config)
	if gen != nil {
		write("generation_config.json", gen)
	}
	return dir
}

func readJSONMap(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// A folder naming no decoder start token (nor a BOS to fall back on, as HF
// does) fails to load; configs that HF's BART/Marian code would run with
// other maths are refused.
func TestBadFolders(t *testing.T) {
	src := testenv.Shared(t, "fixtures", "t5-tiny")
	cfg := readJSONMap(t, filepath.Join(src, "config.json"))
	gen := readJSONMap(t, filepath.Join(src, "generation_config.json"))
	delete(cfg, "decoder_start_token_id")
	delete(gen, "decoder_start_token_id")
	if _, err := Load(copyFixture(t, "t5-tiny", cfg, gen), nil); !errors.Is(err, ErrNoDecoderStart) {
		t.Errorf("T5 without decoder_start_token_id: %v, want ErrNoDecoderStart", err)
	}
	cfg["bos_token_id"] = 5 // HF falls back to bos_token_id
	if m, err := Load(copyFixture(t, "t5-tiny", cfg, nil), nil); err != nil || m.DecoderStartTokenID != 5 {
		t.Errorf("bos fallback: %v", err)
	}

	msrc := testenv.Shared(t, "fixtures", "marian-tiny")
	for key, val := range map[string]any{"normalize_before": true, "static_position_embeddings": false,
		"activation_function": "swiglu", "d_model": 33, "decoder_start_token_id": 5000, "model_type": "mbart"} {
		c := readJSONMap(t, filepath.Join(msrc, "config.json"))
		c[key] = val
		_, err := Load(copyFixture(t, "marian-tiny", c, nil), nil)
		if err == nil {
			t.Errorf("marian with %s = %v loaded", key, val)
		} else if !strings.HasPrefix(err.Error(), "seq2seq: ") {
			t.Errorf("%s: error %q lacks the package prefix", key, err)
		}
	}
	// A missing tensor is named.
	c := readJSONMap(t, filepath.Join(msrc, "config.json"))
	c["encoder_layers"] = 3
	if _, err := Load(copyFixture(t, "marian-tiny", c, nil), nil); err == nil || !strings.Contains(err.Error(), "model.encoder.layers.2.") {
		t.Errorf("3 encoder layers over a 2-layer file: %v", err)
	}
}

// T5's relative positions: a left-padded source (real tokens shifted right,
// the padding masked) encodes and translates as its right-padded twin;
// a source longer than n_positions is accepted (HF sets no limit).
func TestT5Padding(t *testing.T) {
	m, err := Load(testenv.Shared(t, "fixtures", "t5-tiny"), nil)
	if err != nil {
		t.Fatal(err)
	}
	src := []int{37, 512, 9, 140, 1}
	const S = 8
	right, left := make([]int, S), make([]int, S)
	rmask, lmask := make([]bool, S), make([]bool, S)
	copy(right, src)
	copy(left[S-len(src):], src)
	for i := range src {
		rmask[i], lmask[S-len(src)+i] = true, true
	}
	mr, err := m.Encode(right, rmask, 1)
	if err != nil {
		t.Fatal(err)
	}
	ml, err := m.Encode(left, lmask, 1)
	if err != nil {
		t.Fatal(err)
	}
	C := m.d.C
	var d float64
	for i := range src {
		a, b := mr.Hidden()[i*C:(i+1)*C], ml.Hidden()[(S-len(src)+i)*C:][:C]
		for j := range a {
			d = math.Max(d, math.Abs(float64(a[j]-b[j])))
		}
	}
	if d > 1e-5 {
		t.Errorf("left vs right padding: encoder states differ by %.3g", d)
	}
	opts := generate.Options{MaxNewTokens: 10, StopTokens: []int{1}, NumBeams: 3}
	a, _ := m.Generate(context.Background(), mr, opts)
	b, _ := m.Generate(context.Background(), ml, opts)
	if !slices.Equal(a[0].Tokens, b[0].Tokens) {
		t.Errorf("left-padded %v, right-padded %v", b[0].Tokens, a[0].Tokens)
	}
	long := make([]int, 600)
	long[599] = 1
	if _, err := m.EncodeRows([][]int{long}); err != nil {
		t.Errorf("600-token T5 source: %v", err)
	}
}

// Sampling works over the memory, seeded; with num_return_sequences each
// source gets its own rows.
func TestSampling(t *testing.T) {
	m, err := Load(testenv.Shared(t, "fixtures", "bart-tiny"), nil)
	if err != nil {
		t.Fatal(err)
	}
	mem, err := m.EncodeRows([][]int{{0, 45, 300, 2}, {0, 77, 2}})
	if err != nil {
		t.Fatal(err)
	}
	opts := m.GenerateOptions()
	opts.NumBeams, opts.Temperature, opts.TopK, opts.Seed, opts.NumReturnSequences = 1, 1, 50, 3, 2
	a, err := m.Generate(context.Background(), mem, opts)
	if err != nil || len(a) != 4 {
		t.Fatalf("%d sequences, %v", len(a), err)
	}
	b, _ := m.Generate(context.Background(), mem, opts)
	for i := range a {
		if !slices.Equal(a[i].Tokens, b[i].Tokens) {
			t.Errorf("row %d: seeded samples differ: %v, %v", i, a[i].Tokens, b[i].Tokens)
		}
		if a[i].Tokens[0] != 0 { // forced_bos_token_id
			t.Errorf("row %d starts with %d, not the forced BOS", i, a[i].Tokens[0])
		}
	}
}

// Beyond max_distance every relative position shares its side's last bucket,
// which relBias relies on when it clamps.
func TestBucketsSaturate(t *testing.T) {
	for _, c := range [][2]int{{32, 128}, {16, 16}, {8, 20}, {64, 256}} {
		for _, bidi := range []bool{true, false} {
			M := c[1]
			for _, sign := range []int{-1, 1} {
				want := relativeBucket(sign*M, bidi, c[0], c[1])
				for r := M; r < 4*M; r++ {
					if got := relativeBucket(sign*r, bidi, c[0], c[1]); got != want {
						t.Fatalf("%v bidirectional %v: bucket(%d) = %d, bucket(%d) = %d", c, bidi, sign*r, got, sign*M, want)
					}
				}
			}
		}
	}
}
