package infer

import (
	"fmt"
	"slices"
)

// spellings lists, for each value of an enumeration (Format, KVType,
// Activation), the names it parses from; the first is its String.
type spellings [][]string

// name returns the first spelling of value v, or kind(v) when v has none.
func (s spellings) name(v int, kind string) string {
	if v >= 0 && v < len(s) {
		return s[v][0]
	}
	return fmt.Sprintf("%s(%d)", kind, v)
}

// parse returns the value that name spells.
func (s spellings) parse(name string) (int, bool) {
	for v, names := range s {
		if slices.Contains(names, name) {
			return v, true
		}
	}
	return 0, false
}
