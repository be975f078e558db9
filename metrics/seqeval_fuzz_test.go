package metrics

import (
	"strings"
	"testing"
)

// FuzzEntities reads arbitrary whitespace-separated tag sequences in every
// mode and scheme: no panic; entities in order, inside the sentence and not
// overlapping; a sequence scored against itself has F1 1 when it has an
// entity; and the tag parser accepts exactly O and prefixed types.
func FuzzEntities(f *testing.F) {
	f.Add("B-PER I-PER O B-LOC", "O I-PER I-PER O")
	f.Add("S-PER B-LOC E-LOC I-ORG", "B I E S O")
	f.Add("B-B-X I-B-X - B- PER \xff", "")
	f.Fuzz(func(t *testing.T, a, b string) {
		ref, pred := strings.Fields(a), strings.Fields(b)
		for _, s := range append(ref, pred...) {
			tag, err := ParseTag(s)
			if err == nil && (tag.Prefix == 'O') != (s == "O") {
				t.Fatalf("ParseTag(%q) = %+v", s, tag)
			}
		}
		for _, opts := range []*EntityOptions{nil, {Mode: EntityStrict, Scheme: IOB2},
			{Mode: EntityStrict, Scheme: IOB1}, {Mode: EntityStrict, Scheme: IOBES}} {
			es, err := Entities(ref, opts)
			if err != nil {
				continue
			}
			end := 0
			for _, e := range es {
				if e.Start < end || e.End <= e.Start || e.End > len(ref) {
					t.Fatalf("%+v: entities %+v of %q", opts, es, ref)
				}
				end = e.End
			}
			r, err := EvaluateEntities([][]string{ref}, [][]string{ref}, opts)
			if err != nil {
				t.Fatalf("%+v: self-evaluation of %q: %v", opts, ref, err)
			}
			if len(es) > 0 && r.Micro.F1 != 1 || r.Accuracy != 1 && len(ref) > 0 {
				t.Fatalf("%+v: %q against itself: %+v", opts, ref, r)
			}
			if len(pred) == len(ref) {
				r, err := EvaluateEntities([][]string{ref}, [][]string{pred}, opts)
				if err == nil && !(r.Micro.F1 >= 0 && r.Micro.F1 <= 1 && r.Macro.F1 >= 0 && r.Macro.F1 <= 1) {
					t.Fatalf("%+v: %q vs %q: %+v", opts, ref, pred, r)
				}
			}
		}
	})
}
