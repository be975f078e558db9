package hub

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// Match reports whether name matches the shell pattern in the dialect of
// Python's fnmatch, which huggingface_hub's allow and ignore patterns use:
// '*' matches any run of characters, '/' included; '?' matches one
// character; "[seq]" one character of seq and "[!seq]" one not in it, with
// ranges like "a-z"; a '[' without its ']' is literal. Matching is
// case-sensitive and covers the whole name.
func Match(pattern, name string) bool {
	// Iterative matching with one backtrack point: the latest '*'.
	px, nx := 0, 0
	starPx, starNx := -1, -1
	for nx < len(name) || px < len(pattern) {
		if px < len(pattern) {
			switch pattern[px] {
			case '*':
				starPx, starNx = px, nx
				px++
				continue
			case '?':
				if nx < len(name) {
					_, w := utf8.DecodeRuneInString(name[nx:])
					px++
					nx += w
					continue
				}
			case '[':
				if nx < len(name) {
					r, w := utf8.DecodeRuneInString(name[nx:])
					if ok, end, valid := matchClass(pattern[px:], r); valid {
						if ok {
							px += end
							nx += w
							continue
						}
						break
					}
				}
				if nx < len(name) && name[nx] == '[' { // unclosed: a literal '['
					px++
					nx++
					continue
				}
			default:
				if nx < len(name) && name[nx] == pattern[px] {
					px++
					nx++
					continue
				}
			}
		}
		if starPx >= 0 && starNx < len(name) {
			_, w := utf8.DecodeRuneInString(name[starNx:])
			starNx += w
			px, nx = starPx+1, starNx
			continue
		}
		return false
	}
	return true
}

// matchClass matches r against the class opening p ("[...]"). It returns
// whether r is in the class, the length of the class in p, and whether p
// opens a well-formed class at all.
func matchClass(p string, r rune) (match bool, end int, valid bool) {
	i := 1
	negate := false
	if i < len(p) && p[i] == '!' {
		negate = true
		i++
	}
	if i < len(p) && p[i] == ']' { // a leading ']' is a member
		i++
	}
	for i < len(p) && p[i] != ']' {
		i++
	}
	if i >= len(p) {
		return false, 0, false
	}
	end = i + 1
	body := p[1:i]
	if negate {
		body = body[1:]
	}
	for len(body) > 0 {
		lo, w := utf8.DecodeRuneInString(body)
		body = body[w:]
		hi := lo
		if len(body) >= 2 && body[0] == '-' {
			hi, w = utf8.DecodeRuneInString(body[1:])
			body = body[1+w:]
		}
		if lo <= r && r <= hi {
			match = true
		}
	}
	return match != negate, end, true
}

// matchAny reports whether name matches one of patterns; a pattern ending
// in '/' stands for everything below that folder, as in huggingface_hub.
func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if strings.HasSuffix(p, "/") {
			p += "*"
		}
		if Match(p, name) {
			return true
		}
	}
	return false
}

// filterNames keeps the names allowed (all when allow is nil) and not
// ignored, in their order.
func filterNames(names, allow, ignore []string) []string {
	var out []string
	for _, n := range names {
		if allow != nil && !matchAny(allow, n) {
			continue
		}
		if matchAny(ignore, n) {
			continue
		}
		out = append(out, n)
	}
	return out
}

// defaultWeights picks, among the selected top-level safetensors files, the
// ones a model loads when the repository has no index: model.safetensors if
// present, else all of them.
func defaultWeights(names []string) []string {
	if slices.Contains(names, "model.safetensors") {
		return []string{"model.safetensors"}
	}
	return names
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
