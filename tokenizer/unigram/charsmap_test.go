package unigram

import (
	"testing"
	"unicode/utf8"
)

// keys lists every rule of a charsmap by walking its double array.
func (c *charsmap) keys() map[string]string {
	out := map[string]string{}
	var walk func(pos uint32, prefix []byte)
	walk = func(pos uint32, prefix []byte) {
		for b := uint32(1); b < 256; b++ {
			p := pos ^ b
			u, ok := c.unit(p)
			if !ok || unitLabel(u) != b {
				continue
			}
			np := p ^ unitOffset(u)
			key := append(append([]byte{}, prefix...), byte(b))
			if unitHasLeaf(u) {
				leaf, _ := c.unit(np)
				v := int(unitValue(leaf))
				e := v
				for e < len(c.normalized) && c.normalized[e] != 0 {
					e++
				}
				out[string(key)] = c.normalized[v:e]
			}
			walk(np, key)
		}
	}
	walk(unitOffset(c.units[0]), nil)
	return out
}

// TestNMTNFKCMatchesSentencePiece: the nmt_nfkc charsmap built from Go's
// Unicode tables has every rule of sentencepiece's (the multi30k model's),
// with the same output, and its only extra rules are for characters newer
// than sentencepiece's Unicode tables.
func TestNMTNFKCMatchesSentencePiece(t *testing.T) {
	spm := loadMulti30k(t).norm.cmap.keys()
	if len(spm) < 200000 {
		t.Fatalf("sentencepiece's charsmap has only %d rules", len(spm))
	}
	rules := nmtNFKCRules()
	ours, err := parseCharsmap(compileCharsmap(rules))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range rules {
		if l, r := ours.longest(k); l != len(k) || r != v {
			t.Fatalf("compiled charsmap: %q → %d bytes, %q; want %q", k, l, r, v)
		}
	}
	for k, v := range spm {
		if l, r := ours.longest(k); l != len(k) || r != v {
			t.Errorf("%q: sentencepiece %q, ours %q (%d bytes matched)", k, v, r, l)
		}
	}
	extra := 0
	for k := range rules {
		if _, ok := spm[k]; !ok {
			extra++
			r, _ := utf8.DecodeRuneInString(k)
			if r < 0xA700 {
				t.Errorf("extra rule %q → %q for an old character", k, rules[k])
			}
		}
	}
	if extra > 300 {
		t.Errorf("%d rules sentencepiece lacks", extra)
	}
	t.Logf("%d rules (sentencepiece %d); %d for characters newer than its tables", len(rules), len(spm), extra)
}

func TestDoubleArray(t *testing.T) {
	rules := map[string]string{"a": "A", "ab": "X", "abc": "", "b": "B", "bc": "X", "\xff\xfe": "y", "zz": "A"}
	c, err := parseCharsmap(compileCharsmap(rules))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in   string
		n    int
		repl string
	}{{"a", 1, "A"}, {"abd", 2, "X"}, {"abcd", 3, ""}, {"bcz", 2, "X"}, {"c", 0, ""}, {"\xff\xfe!", 2, "y"}, {"zz", 2, "A"}, {"z", 0, ""}, {"", 0, ""}} {
		if n, repl := c.longest(tc.in); n != tc.n || repl != tc.repl {
			t.Errorf("longest(%q) = %d, %q; want %d, %q", tc.in, n, repl, tc.n, tc.repl)
		}
	}
	if got := c.keys(); len(got) != len(rules) {
		t.Errorf("keys %v", got)
	}
	if len(c.units)%256 != 0 {
		t.Errorf("%d units, not whole blocks", len(c.units))
	}
}
