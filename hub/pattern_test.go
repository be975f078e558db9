package hub

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"*.safetensors", "model.safetensors", true},
		{"*.safetensors", "onnx/model.safetensors", true}, // '*' crosses '/' as in fnmatch
		{"*.safetensors", "model.safetensors.index.json", false},
		{"model-*-of-*.safetensors", "model-00001-of-00002.safetensors", true},
		{"config.json", "config.json", true},
		{"config.json", "sub/config.json", false},
		{"config.json", "config_json", false},
		{"config?json", "config.json", true},
		{"?", "é", true},
		{"??", "é", false},
		{"*", "", true},
		{"", "", true},
		{"", "a", false},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"*a*a*a", "aaaa", true},
		{"[abc].txt", "b.txt", true},
		{"[!abc].txt", "b.txt", false},
		{"[!abc].txt", "d.txt", true},
		{"[a-c]x", "bx", true},
		{"[a-c]x", "dx", false},
		{"[]]", "]", true},
		{"[!]]", "a", true},
		{"[^a]", "^", true}, // '^' is no negation in fnmatch
		{"[", "[", true},    // unclosed: literal
		{"[ab", "[ab", true},
		{"[ab", "a", false},
		{"Config.json", "config.json", false},
		{"original/*", "original/consolidated.00.pth", true},
		{"*.JSON", "a.json", false},
	} {
		if got := Match(tc.pattern, tc.name); got != tc.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.pattern, tc.name, got, tc.want)
		}
	}
}

// fnmatchRegexp translates a pattern as Python's fnmatch.translate does, as
// an independent reference for the fuzz target.
func fnmatchRegexp(pat string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`(?s)\A`)
	rs := []rune(pat)
	for i := 0; i < len(rs); i++ {
		switch c := rs[i]; c {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		case '[':
			j := i + 1
			if j < len(rs) && rs[j] == '!' {
				j++
			}
			if j < len(rs) && rs[j] == ']' {
				j++
			}
			for j < len(rs) && rs[j] != ']' {
				j++
			}
			if j >= len(rs) {
				b.WriteString(`\[`)
				continue
			}
			body := rs[i+1 : j]
			neg := len(body) > 0 && body[0] == '!'
			if neg {
				body = body[1:]
			}
			// Build the set explicitly, as ranges, to avoid regexp syntax surprises.
			var set strings.Builder
			for k := 0; k < len(body); k++ {
				lo, hi := body[k], body[k]
				if k+2 < len(body) && body[k+1] == '-' {
					hi = body[k+2]
					k += 2
				}
				if lo <= hi {
					set.WriteString(regexp.QuoteMeta(string(lo)) + "-" + regexp.QuoteMeta(string(hi)))
				}
			}
			switch {
			case set.Len() == 0 && neg:
				b.WriteString(".")
			case set.Len() == 0:
				b.WriteString(`[^\x00-\x{10FFFF}]`)
			case neg:
				b.WriteString("[^" + set.String() + "]")
			default:
				b.WriteString("[" + set.String() + "]")
			}
			i = j
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString(`\z`)
	return regexp.MustCompile(b.String())
}

func FuzzMatch(f *testing.F) {
	for _, s := range [][2]string{{"*.safetensors", "model.safetensors"}, {"[a-c]*", "b/x"}, {"[!]]?", "]a"},
		{"a*b*c", "aXbYc"}, {"[", "["}, {"*?*", "é"}, {"[z-a]", "m"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		if len(pattern) > 64 || len(name) > 64 || !utf8.ValidString(pattern) || !utf8.ValidString(name) {
			t.Skip()
		}
		got := Match(pattern, name)
		if want := fnmatchRegexp(pattern).MatchString(name); got != want {
			t.Fatalf("Match(%q, %q) = %v, fnmatch says %v", pattern, name, got, want)
		}
	})
}

func TestFilterNames(t *testing.T) {
	names := []string{"config.json", "model.safetensors", "onnx/model.onnx", "original/a.pth", "original/b/c.pth"}
	for _, tc := range []struct {
		allow, ignore []string
		want          string
	}{
		{nil, nil, "config.json model.safetensors onnx/model.onnx original/a.pth original/b/c.pth"},
		{[]string{"original/"}, nil, "original/a.pth original/b/c.pth"},
		{[]string{"*"}, []string{"*.pth", "onnx/"}, "config.json model.safetensors"},
		{[]string{}, nil, ""},
	} {
		if got := strings.Join(filterNames(names, tc.allow, tc.ignore), " "); got != tc.want {
			t.Errorf("filterNames(allow %q, ignore %q) = %q, want %q", tc.allow, tc.ignore, got, tc.want)
		}
	}
}
