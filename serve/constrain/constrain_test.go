package constrain

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// testVocab is a vocabulary like a real one: every printable ASCII byte,
// some UTF-8 characters split over byte tokens, and multi-byte pieces that
// cross JSON's structure (`{"`, `": "`, `},`, ...), plus a special token
// (id 0, no bytes) and an EOS (id 1).
func testVocab() (*Vocab, int) {
	pieces := [][]byte{nil, nil}
	for c := 0x20; c < 0x7f; c++ {
		pieces = append(pieces, []byte{byte(c)})
	}
	for _, p := range []string{"\n", "\t", "é", "\xe2", "\x82", "\xac", "日本", "{\"", "\":", "\": ", "\": \"", "\",", "\", \"",
		"},", "}}", "]}", "[{", "true", "false", "null", "nul", "tr", "12", "345", "0.5", "e+1", "-1", " {", "  ", "\\u00", "\\n",
		"name", "age", "tags", "\"name\"", "\"age\":", "red", "\"red\"", "green", "blue\"", "ab", "abc", "\\\""} {
		pieces = append(pieces, []byte(p))
	}
	return NewVocab(pieces), 1
}

func mustSchema(t testing.TB, s string) *Schema {
	t.Helper()
	sc, err := CompileSchema([]byte(s))
	if err != nil {
		t.Fatalf("compile %s: %v", s, err)
	}
	return sc
}

// feedAll feeds text to a fresh matcher and reports whether it is accepted
// whole and complete.
func feedAll(s *Schema, text string) (accepted, complete bool) {
	v, eos := testVocab()
	m := NewIndex(s, v).NewMatcher([]int{eos})
	if m.Feed([]byte(text)) != nil {
		return false, false
	}
	return true, m.Accepting()
}

const personSchema = `{
	"type": "object",
	"properties": {
		"name": {"type": "string", "minLength": 1, "maxLength": 8},
		"age": {"type": "integer"},
		"tags": {"type": "array", "items": {"enum": ["red", "green", "blue"]}, "maxItems": 3},
		"pet": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/pet"}]},
		"score": {"type": ["number", "null"]}
	},
	"required": ["name", "age"],
	"additionalProperties": false,
	"$defs": {"pet": {"type": "object", "properties": {"kind": {"const": "cat"}, "lives": {"type": "integer"}}, "required": ["kind"]}}
}`

func TestFeed(t *testing.T) {
	obj := AnyObject()
	person := mustSchema(t, personSchema)
	tree := mustSchema(t, `{"$ref": "#/$defs/t", "$defs": {"t": {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/t"}}}}}}`)
	num := mustSchema(t, `{"type": "number"}`)
	for _, tc := range []struct {
		s        *Schema
		text     string
		ok, done bool
	}{
		{obj, `{}`, true, true},
		{obj, ` {"a": [1, -2.5e+3, "x\u00e9\n", true, null, {}], "b": {"c": "日本"}}`, true, true},
		{obj, `{"a": "x"} `, false, false},
		{obj, `{"a" 1}`, false, false},
		{obj, `{,}`, false, false},
		{obj, `[1]`, false, false},
		{obj, `{"a": 01}`, false, false},
		{obj, `{"a": 1.}`, false, false},
		{obj, `{"a": "` + "\x01" + `"}`, false, false},
		{obj, `{"a": "\xff"}`, false, false},
		{obj, `{"a": "\xed\xa0\x80"}`, false, false}, // a surrogate in UTF-8
		{obj, `{"a": 1`, true, false},
		{obj, `{"a": tru`, true, false},
		{obj, `{}}`, false, false},
		{obj, `{"a":  1}`, false, false},
		{obj, `{"a": ` + "\n" + `1}`, false, false},
		{obj, "{\n  \"a\": [\n\t\t1,\n\t\t2\n  ]\n}", true, true},
		{obj, `{"a":` + "\n" + strings.Repeat(" ", 21) + `1}`, false, false},
		{obj, `{"a": 1234567890123456}`, false, false}, // 16 digits
		{person, `{"name": "Ann", "age": 7}`, true, true},
		{person, `{"age": 7, "name": "Ann", "tags": ["red", "blue"], "pet": {"kind": "cat", "lives": 9}, "score": 0.5}`, true, true},
		{person, `{"name": "Ann"}`, false, false},             // age missing
		{person, `{"name": "Ann", "age": 7.5}`, false, false}, // not an integer
		{person, `{"name": "", "age": 7}`, false, false},      // minLength
		{person, `{"name": "Annabelle", "age": 7}`, false, false},
		{person, `{"name": "Ann", "age": 7, "name": "B"}`, false, false}, // twice
		{person, `{"name": "Ann", "age": 7, "x": 1}`, false, false},
		{person, `{"name": "Ann", "age": 7, "tags": ["pink"]}`, false, false},
		{person, `{"name": "Ann", "age": 7, "tags": ["red", "red", "red", "red"]}`, false, false},
		{person, `{"name": "Ann", "age": 7, "pet": null}`, true, true},
		{person, `{"name": "Ann", "age": 7, "pet": {"kind": "dog"}}`, false, false},
		{person, `{"name": "Ann", "age": 7, "score": null}`, true, true},
		{tree, `{"kids": [{}, {"kids": [{"kids": []}]}]}`, true, true},
		{num, `12`, true, true},
		{num, `-0.5e10`, true, true},
		{num, `1.`, true, false},
	} {
		ok, done := feedAll(tc.s, tc.text)
		if ok != tc.ok || done != tc.done {
			t.Errorf("%s: accepted %v complete %v, want %v %v", tc.text, ok, done, tc.ok, tc.done)
		}
		if tc.ok && tc.done {
			if err := tc.s.Validate([]byte(tc.text)); err != nil {
				t.Errorf("%s: accepted but %v", tc.text, err)
			}
		}
	}
}

func TestCompileErrors(t *testing.T) {
	for _, s := range []string{
		`not json`,
		`{"type": "object"} trailing`,
		`42`,
		`false`,
		`{"type": "strin"}`,
		`{"type": 3}`,
		`{"type": []}`,
		`{"properties": []}`,
		`{"properties": {"a": 5}}`,
		`{"properties": {"a": {}}, "required": ["b"]}`,
		`{"required": "a"}`,
		`{"pattern": "^a"}`,
		`{"minimum": 3}`,
		`{"oneOf": [{}]}`,
		`{"minItems": -1}`,
		`{"minItems": 1.5}`,
		`{"minItems": 3, "maxItems": 2}`,
		`{"minLength": 3, "maxLength": 2}`,
		`{"enum": []}`,
		`{"enum": [1], "type": "string"}`,
		`{"$ref": "#/$defs/missing"}`,
		`{"$ref": "http://example.com/s.json"}`,
		`{"$ref": 7}`,
		`{"anyOf": []}`,
		`{"anyOf": [{}], "type": "string"}`,
		`{"items": [{}]}`,
		`{"allOf": [{}, {}]}`,
		strings.Repeat(`{"items": `, 70) + `{}` + strings.Repeat(`}`, 70),
	} {
		_, err := CompileSchema([]byte(s))
		var se *SchemaError
		if !errors.As(err, &se) {
			t.Errorf("%.60s: %v, want a *SchemaError", s, err)
		}
	}
}

// TestRandomWalk decodes with random logits under the mask and checks that
// every complete output parses and validates, and that the mask only ever
// allows tokens that Advance accepts.
func TestRandomWalk(t *testing.T) {
	v, eos := testVocab()
	schemas := map[string]*Schema{
		"object": AnyObject(),
		"person": mustSchema(t, personSchema),
		"list":   mustSchema(t, `{"type": "array", "items": {"type": ["integer", "boolean"]}, "minItems": 1, "maxItems": 4}`),
		"enum":   mustSchema(t, `{"enum": ["ab", "abc", 12, null, {"k": [1]}]}`),
	}
	for name, s := range schemas {
		ix := NewIndex(s, v)
		complete := 0
		for seed := range 60 {
			rng := rand.New(rand.NewPCG(uint64(seed), 7))
			m := ix.NewMatcher([]int{eos})
			var out []byte
			logits := make([]float32, v.Size())
			for range 300 {
				for i := range logits {
					logits[i] = float32(rng.NormFloat64())
				}
				// Favour closing tokens a little so that walks end.
				for _, c := range []byte{'}', ']', '"'} {
					logits[2+int(c)-0x20] += 1.5
				}
				logits[eos] += 3
				if m.Mask(logits) == 0 {
					t.Fatalf("%s seed %d: no token allowed after %q", name, seed, out)
				}
				id := sampleFinite(rng, logits)
				if err := m.Advance(id); err != nil {
					t.Fatalf("%s seed %d: the mask allowed token %d (%q) after %q: %v", name, seed, id, v.Piece(id), out, err)
				}
				if id == eos {
					break
				}
				out = append(out, v.Piece(id)...)
				if m.Done() {
					break
				}
			}
			if !m.Accepting() {
				continue // the budget ran out mid-value
			}
			complete++
			if err := s.Validate(out); err != nil {
				t.Fatalf("%s seed %d: %q: %v", name, seed, out, err)
			}
		}
		if complete < 10 {
			t.Errorf("%s: only %d of 60 walks completed", name, complete)
		}
		if hits, _ := ix.CacheStats(); hits == 0 {
			t.Errorf("%s: the allowed-set cache was never hit", name)
		}
	}
}

func sampleFinite(rng *rand.Rand, logits []float32) int {
	var ids []int
	var w []float64
	var sum float64
	for i, l := range logits {
		if !math.IsInf(float64(l), -1) {
			ids = append(ids, i)
			p := math.Exp(float64(l))
			w = append(w, p)
			sum += p
		}
	}
	r := rng.Float64() * sum
	for i, p := range w {
		r -= p
		if r < 0 {
			return ids[i]
		}
	}
	return ids[len(ids)-1]
}

// TestMaskMatchesFeed compares the walk's allowed set with feeding every
// token separately.
func TestMaskMatchesFeed(t *testing.T) {
	v, eos := testVocab()
	s := mustSchema(t, personSchema)
	ix := NewIndex(s, v)
	for _, prefix := range []string{``, `{`, `{"na`, `{"name": "A`, `{"name": "Ann", "age": 1`, `{"name": "Ann", "age": 1, "tags": [`,
		`{"name": "Ann", "age": 1, "pet": `, `{"name": "Ann", "age": 1, "score": -`} {
		m := ix.NewMatcher([]int{eos})
		if err := m.Feed([]byte(prefix)); err != nil {
			t.Fatalf("%q: %v", prefix, err)
		}
		logits := make([]float32, v.Size())
		m.Mask(logits)
		for id := 2; id < v.Size(); id++ {
			probe := ix.NewMatcher([]int{eos})
			probe.Feed([]byte(prefix))
			want := probe.Feed(v.Piece(id)) == nil
			if got := !math.IsInf(float64(logits[id]), -1); got != want {
				t.Errorf("after %q token %q: mask %v, feed %v", prefix, v.Piece(id), got, want)
			}
		}
	}
}

func TestValidate(t *testing.T) {
	s := mustSchema(t, personSchema)
	for _, bad := range []string{`{"name": "Ann"}`, `{"name": 1, "age": 1}`, `[]`, `{"name": "A", "age": 1} x`, `{`} {
		if s.Validate([]byte(bad)) == nil {
			t.Errorf("%s validated", bad)
		}
	}
	e := mustSchema(t, `{"enum": [1, "a"]}`)
	if err := e.Validate([]byte(`1.0`)); err != nil {
		t.Errorf("1.0 in enum [1]: %v", err)
	}
}

// FuzzMatcher feeds arbitrary bytes: no panic, and whatever the matcher
// accepts as a complete output must validate.
func FuzzMatcher(f *testing.F) {
	for _, s := range []string{`{"name": "Ann", "age": 7}`, `{"name": "Ann", "age": 7, "tags": ["red"], "pet": {"kind": "cat"}}`, `{"a":`, `[1, 2]`, `"x"`} {
		f.Add([]byte(s))
	}
	person := mustSchema(f, personSchema)
	v, eos := testVocab()
	ixs := []*Index{NewIndex(person, v), NewIndex(AnyObject(), v)}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, ix := range ixs {
			m := ix.NewMatcher([]int{eos})
			if m.Feed(data) != nil || !m.Accepting() {
				continue
			}
			if err := ix.schema.Validate(data); err != nil {
				t.Fatalf("accepted %q but %v", data, err)
			}
			if !json.Valid(data) {
				t.Fatalf("accepted invalid JSON %q", data)
			}
		}
	})
}

// FuzzCompileSchema compiles arbitrary schemas: an error or a schema, never
// a panic, and a compiled schema's matcher can take a first step.
func FuzzCompileSchema(f *testing.F) {
	for _, s := range []string{personSchema, `{}`, `true`, `{"anyOf": [{"$ref": "#"}]}`, `{"$ref": "#"}`, `{"enum": [1, [2], {"a": null}]}`,
		`{"type": "array", "items": {"type": "string", "maxLength": 0}}`} {
		f.Add([]byte(s))
	}
	v, eos := testVocab()
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := CompileSchema(data)
		if err != nil {
			return
		}
		m := NewIndex(s, v).NewMatcher([]int{eos})
		logits := make([]float32, v.Size())
		m.Mask(logits)
	})
}
