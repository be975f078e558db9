package spmodel

import (
	"os"
	"testing"
	"unicode/utf8"

	"github.com/glossa-ai/glossa/internal/testenv"
)

// TestNMTNFKCMatchesSentencePiece: the nmt_nfkc charsmap built from Go's
// Unicode tables has every rule of sentencepiece's (the multi30k model's),
// with the same output, and its only extra rules are for characters newer
// than sentencepiece's Unicode tables.
func TestNMTNFKCMatchesSentencePiece(t *testing.T) {
	data, err := os.ReadFile(testenv.Shared(t, "tokenizers", "multi30k-unigram", "multi30k-unigram.model"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	cm, err := ParseCharsmap(p.Normalizer.PrecompiledCharsmap)
	if err != nil {
		t.Fatal(err)
	}
	spm := cm.Rules()
	if len(spm) < 200000 {
		t.Fatalf("sentencepiece's charsmap has only %d rules", len(spm))
	}
	rules := NMTNFKCRules()
	ours, err := ParseCharsmap(CompileCharsmap(rules))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range rules {
		if l, r := ours.Longest(k); l != len(k) || r != v {
			t.Fatalf("compiled charsmap: %q → %d bytes, %q; want %q", k, l, r, v)
		}
	}
	for k, v := range spm {
		if l, r := ours.Longest(k); l != len(k) || r != v {
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
	c, err := ParseCharsmap(CompileCharsmap(rules))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in   string
		n    int
		repl string
	}{{"a", 1, "A"}, {"abd", 2, "X"}, {"abcd", 3, ""}, {"bcz", 2, "X"}, {"c", 0, ""}, {"\xff\xfe!", 2, "y"}, {"zz", 2, "A"}, {"z", 0, ""}, {"", 0, ""}} {
		if n, repl := c.Longest(tc.in); n != tc.n || repl != tc.repl {
			t.Errorf("longest(%q) = %d, %q; want %d, %q", tc.in, n, repl, tc.n, tc.repl)
		}
	}
	if got := c.Rules(); len(got) != len(rules) {
		t.Errorf("keys %v", got)
	}
	if len(c.trie)%256 != 0 {
		t.Errorf("%d units, not whole blocks", len(c.trie))
	}
}
