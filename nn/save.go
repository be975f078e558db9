package nn

import (
	"fmt"
	"strings"

	"github.com/glossa-ai/glossa/checkpoint"
	"github.com/glossa-ai/glossa/infer"
)

// SaveParams writes every parameter of ps under its name as one float32
// safetensors file (names sorted), atomically through checkpoint.Save: path
// holds either its old content or the complete new file.
func SaveParams(path string, ps []NamedParam) error {
	ts := make([]checkpoint.Tensor, len(ps))
	for i, p := range ps {
		v := p.Var.Value
		ts[i] = checkpoint.Tensor{Name: p.Name, Shape: []int(v.Shape()), Data: v.Contiguous().Data()}
	}
	if err := checkpoint.Save(path, ts, nil); err != nil {
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

// LoadParams copies the tensors of a safetensors file into the parameters of
// ps, matching names and checking shapes. F32 tensors are copied; F16, BF16
// and the other floating-point dtypes are widened to float32 (see
// checkpoint.File.Float32Into). Tensors of the file that no parameter names
// are ignored.
func LoadParams(path string, ps []NamedParam, opts *LoadOptions) error {
	f, err := checkpoint.Open(path)
	if err != nil {
		return fmt.Errorf("nn: load %s: %w", path, err)
	}
	defer f.Close()
	return loadParams(path, f, ps, opts)
}

// LoadParamsFrom is LoadParams over an open checkpoint: a *checkpoint.File,
// or a *checkpoint.Folder of shards listed by a safetensors index.
func LoadParamsFrom(r checkpoint.Reader, ps []NamedParam, opts *LoadOptions) error {
	src := "checkpoint"
	switch r := r.(type) {
	case *checkpoint.File:
		src = r.Path()
	case *checkpoint.Folder:
		src = r.Dir()
	}
	return loadParams(src, r, ps, opts)
}

// loadParams implements LoadParamsFrom through an infer.Builder; src names
// r in errors.
func loadParams(src string, r checkpoint.Reader, ps []NamedParam, opts *LoadOptions) error {
	if opts == nil {
		opts = &LoadOptions{}
	}
	bo := infer.BuilderOptions{Model: "nn", Source: src}
	if p := opts.TrimPrefix; p != "" {
		bo.Aliases = func(name string) []string {
			if rest, ok := strings.CutPrefix(name, p); ok {
				return []string{rest}
			}
			return nil
		}
	}
	b := infer.NewBuilder(r, bo)
	for _, p := range ps {
		if opts.AllowMissing && !b.Has(p.Name) {
			continue
		}
		if !p.Var.Value.IsContiguous() {
			return fmt.Errorf("nn: load %s: parameter is not contiguous", p.Name)
		}
		b.Into(p.Name, p.Var.Value.Data(), p.Var.Value.Shape()...)
	}
	return b.Err()
}

// ReadTensors returns every tensor of a safetensors file as a name →
// (shape, float32 values) map, widening F16/BF16 and the other
// floating-point dtypes; a tensor of an integer or boolean dtype is an
// error. It is meant for tests and tools that compare against stored
// tensors; models should read through checkpoint directly.
func ReadTensors(path string) (map[string]Tensor, error) {
	f, err := checkpoint.Open(path)
	if err != nil {
		return nil, fmt.Errorf("nn: read %s: %w", path, err)
	}
	defer f.Close()
	names := f.Names()
	out := make(map[string]Tensor, len(names))
	for _, name := range names {
		info, _ := f.Info(name)
		data, err := f.Float32(name)
		if err != nil {
			return nil, fmt.Errorf("nn: read %s: %w", path, err)
		}
		out[name] = Tensor{Shape: info.Shape, Data: data}
	}
	return out, nil
}

// Tensor is a stored tensor returned by ReadTensors.
type Tensor struct {
	Shape []int
	Data  []float32
}
