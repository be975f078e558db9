package pipeline

import (
	"fmt"
	"strings"
)

// The typed choices of the options (Function, Aggregation, Pooling) are
// constants named by Hugging Face's strings, parsed once at the boundary.

// enumName returns names[v], or Type(v) outside the table.
func enumName[E ~int](names []string, v E, typ string) string {
	if v >= 0 && int(v) < len(names) {
		return names[v]
	}
	return fmt.Sprintf("%s(%d)", typ, int(v))
}

// parseEnum sets *v to the index of the name b (any case) among names,
// skipping the empty ones; option and want word the error.
func parseEnum[E ~int](v *E, names []string, b []byte, option, want string) error {
	for i, n := range names {
		if n != "" && strings.EqualFold(string(b), n) {
			*v = E(i)
			return nil
		}
	}
	return fmt.Errorf("%s %q is not %s", option, b, want)
}
