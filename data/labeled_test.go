package data

import (
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
)

func TestReadLabeledSST2(t *testing.T) {
	dir := testenv.Shared(t, "data", "sst2")
	train, err := ReadLabeled(filepath.Join(dir, "train.tsv"), LabeledOptions{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	dev, err := ReadLabeled(filepath.Join(dir, "dev.tsv"), LabeledOptions{TextColumn: "sentence", LabelColumn: "label", Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(train.Examples) != 67349 || len(dev.Examples) != 872 {
		t.Fatalf("rows %d/%d, want 67349/872", len(train.Examples), len(dev.Examples))
	}
	if e := dev.Examples[0]; e.Text != "it 's a charming and often affecting journey . " || e.Label != "1" || e.Line != 2 {
		t.Errorf("dev[0] = %+v", e)
	}
	m, err := NewLabelMap(train.Examples)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := m.IDs(dev)
	if err != nil {
		t.Fatal(err)
	}
	pos := 0
	for _, id := range ids {
		pos += id
	}
	if m.Len() != 2 || m.Label(1) != "1" || pos != 444 {
		t.Errorf("labels %v, positives %d (want 444)", m.Labels(), pos)
	}
}

func TestReadLabeledFormats(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, file, content string
		opts                LabeledOptions
		want                []Example
		skipped             int
	}{
		{"tsv header", "a.tsv", "sentence\tlabel\ngood film \t1\nbad\t0\n", LabeledOptions{},
			[]Example{{Text: "good film ", Label: "1", Line: 2}, {Text: "bad", Label: "0", Line: 3}}, 0},
		{"tsv index no header", "b.tsv", "gj04\t1\t\tThe sailors rode.\nx\t0\t*\tBad it.\n",
			LabeledOptions{TextColumn: "3", LabelColumn: "1"},
			[]Example{{Text: "The sailors rode.", Label: "1", Line: 1}, {Text: "Bad it.", Label: "0", Line: 2}}, 0},
		{"tsv malformed skipped", "c.tsv", "text\tlabel\nok\tpos\nno tab here\n \tneg\nfine\tneg\n", LabeledOptions{},
			[]Example{{Text: "ok", Label: "pos", Line: 2}, {Text: "fine", Label: "neg", Line: 5}}, 2},
		{"csv quoted no header", "d.csv", "\"3\",\"Wall St.\",\"Bears, \"\"claw\"\" back\"\n\"1\",\"Title\",\"multi\nline\"\n",
			LabeledOptions{TextColumn: "2", PairColumn: "1", LabelColumn: "0"},
			[]Example{{Text: "Bears, \"claw\" back", Pair: "Wall St.", Label: "3", Line: 1}, {Text: "multi\nline", Pair: "Title", Label: "1", Line: 2}}, 0},
		{"csv header pair", "e.csv", "sentence1,sentence2,label\na,b,entail\n", LabeledOptions{PairColumn: "sentence2"},
			[]Example{{Text: "a", Pair: "b", Label: "entail", Line: 2}}, 0},
		{"jsonl", "f.jsonl", "{\"text\":\"hi\",\"label\":1}\n\n{\"text\":\"yo\",\"label\":\"neg\"}\nnot json\n{\"text\":\"x\"}\n", LabeledOptions{},
			[]Example{{Text: "hi", Label: "1", Line: 1}, {Text: "yo", Label: "neg", Line: 3}}, 2},
		{"jsonl custom keys", "g.jsonl", "{\"dialogue\":\"d\",\"topic\":\"t\",\"x\":true}\n", LabeledOptions{TextColumn: "dialogue", LabelColumn: "x"},
			[]Example{{Text: "d", Label: "true", Line: 1}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ReadLabeled(writeFile(t, filepath.Join(dir, tt.file), tt.content), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(d.Examples, tt.want) {
				t.Errorf("examples %+v, want %+v", d.Examples, tt.want)
			}
			if d.Skipped != tt.skipped || len(d.SkipReasons) != tt.skipped {
				t.Errorf("skipped %d (%q), want %d", d.Skipped, d.SkipReasons, tt.skipped)
			}
			if tt.skipped > 0 {
				strict := tt.opts
				strict.Strict = true
				if _, err := ReadLabeled(filepath.Join(dir, tt.file), strict); !errors.Is(err, ErrMalformedRow) {
					t.Errorf("strict: err = %v, want ErrMalformedRow", err)
				}
			}
		})
	}
}

func TestReadLabeledErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, file, content string
		opts                LabeledOptions
		wantSub             string
	}{
		{"empty file", "a.tsv", "", LabeledOptions{}, "empty file"},
		{"header only", "b.tsv", "sentence\tlabel\n", LabeledOptions{}, "empty file"},
		{"all malformed", "c.tsv", "sentence\tlabel\njunk\nmore junk\n", LabeledOptions{}, "no valid rows (2 malformed"},
		{"missing column", "d.tsv", "sentence\tlabel\na\t1\n", LabeledOptions{LabelColumn: "gold"}, "no label column \"gold\""},
		{"no default text", "e.tsv", "foo\tlabel\na\t1\n", LabeledOptions{}, "no text column"},
		{"unknown ext", "f.txt", "a\t1\n", LabeledOptions{}, "extension"},
		{"empty jsonl", "g.jsonl", "\n\n", LabeledOptions{}, "empty file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadLabeled(writeFile(t, filepath.Join(dir, tt.file), tt.content), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantSub) {
				t.Errorf("err = %v, want it to contain %q", err, tt.wantSub)
			}
		})
	}
}

func TestLabelMap(t *testing.T) {
	train := []Example{{Label: "10"}, {Label: "2"}, {Label: "1"}, {Label: "2"}}
	m, err := NewLabelMap(train)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m.Labels(), []string{"1", "2", "10"}) {
		t.Errorf("numeric order %v", m.Labels())
	}
	if !reflect.DeepEqual(m.ID2Label(), map[string]string{"0": "1", "1": "2", "2": "10"}) || m.Label2ID()["10"] != 2 {
		t.Errorf("HF maps %v %v", m.ID2Label(), m.Label2ID())
	}
	m2, _ := NewLabelMap([]Example{{Label: "pos"}, {Label: "neg"}})
	if !reflect.DeepEqual(m2.Labels(), []string{"neg", "pos"}) {
		t.Errorf("lexical order %v", m2.Labels())
	}
	dev := &LabeledData{Path: "dev.tsv", Examples: []Example{{Label: "pos", Line: 2}, {Label: "neutral", Line: 7}}}
	if _, err := m2.IDs(dev); err == nil || !strings.Contains(err.Error(), "dev.tsv:7: unknown label \"neutral\"") {
		t.Errorf("unknown label err = %v", err)
	}
	for _, bad := range [][]string{{"a"}, {"a", "a"}, {"a", ""}} {
		if _, err := LabelMapOf(bad); err == nil {
			t.Errorf("LabelMapOf(%q): no error", bad)
		}
	}
}

func fuzzLabeled(f *testing.F, format Format, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s), "", "", false)
		f.Add([]byte(s), "0", "1", true)
	}
	f.Fuzz(func(t *testing.T, b []byte, textCol, labelCol string, strict bool) {
		d, err := ParseLabeled(strings.NewReader(string(b)), "fuzz", LabeledOptions{
			Format: format, TextColumn: textCol, LabelColumn: labelCol, Strict: strict, MaxLineBytes: 256})
		if err != nil {
			return
		}
		if len(d.Examples) == 0 {
			t.Fatal("no error but no examples")
		}
		for _, e := range d.Examples {
			if e.Label == "" || strings.TrimSpace(e.Text) == "" || e.Line < 1 {
				t.Fatalf("bad example %+v", e)
			}
		}
		if strict && d.Skipped != 0 {
			t.Fatal("strict mode skipped rows")
		}
	})
}

func FuzzReadTSV(f *testing.F) {
	fuzzLabeled(f, FormatTSV, "sentence\tlabel\nok\t1\n", "a\tb\tc\n\t\n", "\uFEFFtext\tlabel\r\nx\t0")
}

func FuzzReadCSV(f *testing.F) {
	fuzzLabeled(f, FormatCSV, "text,label\n\"a,b\",1\n", "\"3\",\"t\",\"d\"\n", "a,\"b\n")
}

func FuzzReadJSONL(f *testing.F) {
	fuzzLabeled(f, FormatJSONL, "{\"text\":\"a\",\"label\":1}\n", "{\"sentence\":\"x\",\"label\":\"y\"}\n{]\n", "null\n[1]\n")
}

func TestSplitTrainVal(t *testing.T) {
	items := make([]int, 100)
	for i := range items {
		items[i] = i
	}
	tr, va, err := SplitTrainVal(items, 0.1, 42)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr) != 90 || len(va) != 10 {
		t.Fatalf("sizes %d/%d", len(tr), len(va))
	}
	tr2, va2, _ := SplitTrainVal(items, 0.1, 42)
	if !reflect.DeepEqual(tr, tr2) || !reflect.DeepEqual(va, va2) {
		t.Error("same seed, different split")
	}
	_, va3, _ := SplitTrainVal(items, 0.1, 43)
	if reflect.DeepEqual(va, va3) {
		t.Error("different seeds, same split")
	}
	seen := map[int]bool{}
	for _, v := range append(append([]int(nil), tr...), va...) {
		seen[v] = true
	}
	if len(seen) != 100 || items[5] != 5 {
		t.Error("split is not a partition or changed the input")
	}
	for _, frac := range []float64{0, 1, -0.5} {
		if _, _, err := SplitTrainVal(items, frac, 1); err == nil {
			t.Errorf("fraction %v: no error", frac)
		}
	}
	if _, _, err := SplitTrainVal([]int{1}, 0.5, 1); err == nil {
		t.Error("1 item: no error")
	}
	s := []string{"a", "b", "c", "d", "e"}
	Shuffle(s, 7)
	s2 := []string{"a", "b", "c", "d", "e"}
	Shuffle(s2, 7)
	if !reflect.DeepEqual(s, s2) {
		t.Error("Shuffle not deterministic")
	}
}

func TestIndexSampler(t *testing.T) {
	s, err := NewIndexSampler(7, 3)
	if err != nil {
		t.Fatal(err)
	}
	var all []int
	for range 3 {
		seen := map[int]bool{}
		for range 7 {
			i := s.Next()
			seen[i] = true
			all = append(all, i)
		}
		if len(seen) != 7 {
			t.Fatalf("epoch is not a permutation: %v", all)
		}
	}
	if reflect.DeepEqual(all[:7], all[7:14]) {
		t.Error("two epochs in the same order")
	}
	r, _ := NewIndexSampler(7, 3)
	if err := r.SetState(SamplerState{Epoch: 1, Index: 4}); err != nil {
		t.Fatal(err)
	}
	got := r.Batch(make([]int, 10))
	if !reflect.DeepEqual(got, all[11:21]) {
		t.Errorf("resumed %v, want %v", got, all[11:21])
	}
	if r.State() != s.State() {
		t.Errorf("state %+v, want %+v", r.State(), s.State())
	}
	if _, err := NewIndexSampler(0, 1); err == nil {
		t.Error("0 items: no error")
	}
	if err := r.SetState(SamplerState{Index: 8}); err == nil {
		t.Error("index beyond n: no error")
	}
}

// GroupByLength: each epoch is still a permutation, runs of the megabatch
// size are sorted longest first, epochs differ, and SetState resumes.
func TestIndexSamplerGroupByLength(t *testing.T) {
	const n, run = 103, 20
	lengths := make([]int, n)
	for i := range lengths {
		lengths[i] = (i * 37) % 29
	}
	s, _ := NewIndexSampler(n, 5)
	if err := s.GroupByLength(lengths, run); err != nil {
		t.Fatal(err)
	}
	var all []int
	for range 2 {
		epoch := s.Batch(make([]int, n))
		for i, v := range slices.Sorted(slices.Values(epoch)) {
			if v != i {
				t.Fatalf("epoch is not a permutation: %v", epoch)
			}
		}
		for lo := 0; lo < n; lo += run {
			chunk := epoch[lo:min(lo+run, n)]
			if !slices.IsSortedFunc(chunk, func(a, b int) int { return lengths[b] - lengths[a] }) {
				t.Fatalf("run at %d is not sorted by length: %v", lo, chunk)
			}
		}
		all = append(all, epoch...)
	}
	if slices.Equal(all[:n], all[n:]) {
		t.Error("two epochs in the same order")
	}
	r, _ := NewIndexSampler(n, 5)
	r.GroupByLength(lengths, run)
	if err := r.SetState(SamplerState{Epoch: 1, Index: 30}); err != nil {
		t.Fatal(err)
	}
	if got := r.Batch(make([]int, 10)); !slices.Equal(got, all[n+30:n+40]) {
		t.Errorf("resumed %v, want %v", got, all[n+30:n+40])
	}
	if err := r.GroupByLength(lengths[:5], run); err == nil {
		t.Error("lengths of the wrong count: no error")
	}
}
