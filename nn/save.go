package nn

import (
	"fmt"
	"slices"
	"strings"
)

// SaveParams writes every parameter of ps under its name as one float32
// safetensors file (names sorted; written to a temporary file, then renamed
// into place).
func SaveParams(path string, ps []NamedParam) error {
	ts := make([]namedTensor, len(ps))
	for i, p := range ps {
		v := p.Var.Value
		ts[i] = namedTensor{p.Name, v.Shape().Clone(), v.Contiguous().Data()}
	}
	if err := writeSafetensors(path, ts); err != nil {
		return fmt.Errorf("nn: save %s: %w", path, err)
	}
	return nil
}

// LoadOptions adjusts LoadParams. The zero value requires every parameter
// under its exact name.
type LoadOptions struct {
	// TrimPrefix, when set, lets a parameter named TrimPrefix+x load from a
	// tensor named x (checkpoints saved from a base model, such as the
	// hub's GPT-2 without "transformer.").
	TrimPrefix string
	// AllowMissing leaves parameters absent from the file untouched instead
	// of failing.
	AllowMissing bool
}

// LoadParams copies the tensors of a float32 safetensors file into the
// parameters of ps, matching names and checking shapes. Tensors of the file
// that no parameter names are ignored.
func LoadParams(path string, ps []NamedParam, opts *LoadOptions) error {
	if opts == nil {
		opts = &LoadOptions{}
	}
	st, err := readSafetensors(path)
	if err != nil {
		return fmt.Errorf("nn: load %s: %w", path, err)
	}
	for _, p := range ps {
		t, ok := st[p.Name]
		if !ok && opts.TrimPrefix != "" {
			t, ok = st[strings.TrimPrefix(p.Name, opts.TrimPrefix)]
		}
		if !ok {
			if opts.AllowMissing {
				continue
			}
			return fmt.Errorf("nn: load %s: missing tensor %s", path, p.Name)
		}
		if !slices.Equal(t.shape, []int(p.Var.Value.Shape())) {
			return fmt.Errorf("nn: load %s: shape %v, want %v", p.Name, t.shape, p.Var.Value.Shape())
		}
		if !p.Var.Value.IsContiguous() {
			return fmt.Errorf("nn: load %s: parameter is not contiguous", p.Name)
		}
		copy(p.Var.Value.Data(), t.data)
	}
	return nil
}

// ReadTensors returns every tensor of a float32 safetensors file as a name →
// (shape, values) map. It is the small reader behind LoadParams, for tests
// and tools that compare against stored tensors.
func ReadTensors(path string) (map[string]Tensor, error) {
	st, err := readSafetensors(path)
	if err != nil {
		return nil, fmt.Errorf("nn: read %s: %w", path, err)
	}
	out := make(map[string]Tensor, len(st))
	for k, v := range st {
		out[k] = Tensor{Shape: v.shape, Data: v.data}
	}
	return out, nil
}

// Tensor is a stored tensor returned by ReadTensors.
type Tensor struct {
	Shape []int
	Data  []float32
}
