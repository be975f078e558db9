package quantize

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/glossa-ai/glossa/checkpoint/gguf"
)

// Options configure File. The zero value writes an F32 file.
type Options struct {
	// Type is the file's weight type: gguf.F32 (the zero value), F16,
	// BF16, Q8_0 or Q4_0.
	Type gguf.Type
	// Tokenizer is the vocabulary to embed: a llama2.c tokenizer.bin, a
	// SentencePiece tokenizer.model, or a .gguf file whose tokenizer.*
	// metadata is copied. Required for a llama2.c input; for the other
	// inputs "" means the input's own (tokenizer.model in the folder, the
	// GGUF file's metadata).
	Tokenizer string
	// Pure gives every converted tensor Type (llama-quantize --pure): no
	// Q6_K/Q8_0 output matrix, and no F16 fallback — a tensor whose rows
	// Type cannot hold is an error.
	Pure bool
	// AllowRequantize lets a GGUF input's quantized tensors be converted to
	// another type (llama-quantize --allow-requantize); without it that is
	// an error, since requantizing adds the errors of both types.
	AllowRequantize bool
	// Name is general.name; "" means the input's file or folder name
	// without extension (a GGUF input keeps its own when it has one).
	Name string
}

// Tensor is the choice made for one tensor.
type Tensor struct {
	Name  string
	Shape []int     // outermost first
	From  gguf.Type // as the input stores it (F32 for llama2.c, the safetensors dtype widened for HF)
	To    gguf.Type // as written
	// Note says why To differs from Options.Type ("norm", "1-D",
	// "output matrix", "rows of 172 are not a multiple of 32: F16"); ""
	// when it does not.
	Note string
}

// Result describes a written file.
type Result struct {
	Path    string
	Bytes   int64
	Tensors []Tensor
}

// ErrUnknownInput is matched (errors.Is) by the error of an input that is
// neither a model folder, a llama2.c .bin nor a .gguf file.
var ErrUnknownInput = errors.New("unknown input")

// fileTypes maps the supported file types to llama_ftype.
var fileTypes = map[gguf.Type]uint32{gguf.F32: 0, gguf.F16: 1, gguf.Q4_0: 2, gguf.Q8_0: 7, gguf.BF16: 32}

// ParseType parses a --type value: f32, f16, bf16, q8_0 or q4_0 (any case).
func ParseType(s string) (gguf.Type, error) {
	t, err := gguf.ParseType(strings.ToUpper(s))
	if _, ok := fileTypes[t]; err != nil || !ok {
		return 0, fmt.Errorf("quantize: type %q is not one of f32, f16, bf16, q8_0, q4_0", s)
	}
	return t, nil
}

// item is one tensor of an input.
type item struct {
	name  string
	shape []int
	from  gguf.Type
	// data returns the values as float32; resident data stays valid until
	// the file is written without costing more memory.
	data     func() ([]float32, error)
	resident bool
	// raw returns the stored bytes of type from; nil when the input has
	// none (they are then data, encoded).
	raw func() ([]byte, error)
}

// source is an opened input.
type source struct {
	meta    []metaKV        // in writing order
	tok     *gguf.Tokenizer // written after meta; nil when meta holds the tokenizer
	tensors []item
	tied    bool // no output.weight: token_embd is also the output matrix
	gguf    bool // a GGUF input: untouched tensors keep their stored type
	close   func() error
}

type metaKV struct {
	key string
	v   any
}

// File converts the model at in to a GGUF file at out (see the package
// documentation) and reports the type chosen for every tensor.
func File(ctx context.Context, in, out string, opts Options) (*Result, error) {
	ftype, ok := fileTypes[opts.Type]
	if !ok {
		return nil, fmt.Errorf("quantize: type %v is not one of F32, F16, BF16, Q8_0, Q4_0", opts.Type)
	}
	src, err := open(in, opts, ftype)
	if err != nil {
		return nil, err
	}
	defer src.close()
	var w gguf.Writer
	for _, kv := range src.meta {
		if err := w.Set(kv.key, kv.v); err != nil {
			return nil, fmt.Errorf("quantize: %w", err)
		}
	}
	if src.tok != nil {
		if err := w.SetTokenizer(src.tok); err != nil {
			return nil, fmt.Errorf("quantize: %w", err)
		}
	}
	res := &Result{Path: out}
	for _, it := range src.tensors {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		to, note, err := TypeFor(it.name, it.shape, opts.Type, src.tied, opts.Pure)
		if err != nil {
			return nil, fmt.Errorf("quantize: %s: %w", in, err)
		}
		if !convertible(it.name, it.shape) && src.gguf {
			to = it.from // llama-quantize copies what it does not quantize
		}
		if to != it.from && it.from.BlockSize() > 1 && !opts.AllowRequantize {
			return nil, fmt.Errorf("quantize: %s: tensor %q is %v; requantizing it to %v adds both errors (allow it with --allow-requantize)", in, it.name, it.from, to)
		}
		if to != it.from && !it.from.CanFloat32() {
			return nil, fmt.Errorf("quantize: %s: tensor %q: type %v cannot be decoded to convert it to %v", in, it.name, it.from, to)
		}
		if err := add(&w, it, to); err != nil {
			return nil, fmt.Errorf("quantize: %s: %w", in, err)
		}
		res.Tensors = append(res.Tensors, Tensor{Name: it.name, Shape: it.shape, From: it.from, To: to, Note: note})
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := w.Save(out); err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	if st, err := os.Stat(out); err == nil {
		res.Bytes = st.Size()
	}
	return res, nil
}

// add adds one tensor to w as type to: its stored bytes when the type does
// not change, resident float32 data converted while writing, or other data
// encoded now (so that only the output, not a float32 copy of the whole
// model, is held in memory).
func add(w *gguf.Writer, it item, to gguf.Type) error {
	if to == it.from && it.raw != nil {
		raw, err := it.raw()
		if err != nil {
			return err
		}
		return w.AddRawTensor(it.name, it.shape, to, raw)
	}
	x, err := it.data()
	if err != nil {
		return err
	}
	if it.resident {
		return w.AddTensor(it.name, it.shape, to, x)
	}
	if len(it.shape) > 0 && it.shape[len(it.shape)-1]%to.BlockSize() != 0 {
		return fmt.Errorf("tensor %q: row length %d is not a multiple of the %v block size %d", it.name, it.shape[len(it.shape)-1], to, to.BlockSize())
	}
	b, err := gguf.Encode(to, x)
	if err != nil {
		return fmt.Errorf("tensor %q: %w", it.name, err)
	}
	return w.AddRawTensor(it.name, it.shape, to, b)
}

// convertible reports whether llama-quantize converts a tensor: 2-D or
// more, named "…weight", not a norm, not a position or token-type
// embedding.
func convertible(name string, shape []int) bool {
	return len(shape) >= 2 && strings.HasSuffix(name, "weight") && !strings.Contains(name, "_norm.weight") &&
		name != "position_embd.weight" && name != "token_types.weight"
}

// TypeFor returns the type a tensor gets in a file of type ftype (see the
// package documentation), and a note when it is not ftype. tied says that
// token_embd.weight is also the output matrix. It fails only with pure,
// for a tensor whose row length ftype's blocks do not divide.
func TypeFor(name string, shape []int, ftype gguf.Type, tied, pure bool) (gguf.Type, string, error) {
	switch {
	case !convertible(name, shape) && len(shape) < 2:
		return gguf.F32, "1-D", nil
	case !convertible(name, shape):
		return gguf.F32, "not a quantized weight", nil
	}
	nx := shape[len(shape)-1]
	if pure || ftype.BlockSize() == 1 {
		if nx%ftype.BlockSize() != 0 {
			return 0, "", fmt.Errorf("tensor %q: row length %d is not a multiple of the %v block size %d; without --pure it would fall back to F16", name, nx, ftype, ftype.BlockSize())
		}
		return ftype, "", nil
	}
	t, note := ftype, ""
	if name == "output.weight" || tied && name == "token_embd.weight" {
		switch {
		case nx%256 != 0:
			t, note = gguf.Q8_0, "output matrix: Q8_0 (rows not a multiple of 256 for Q6_K)"
		case ftype != gguf.Q8_0:
			t, note = gguf.Q6_K, "output matrix: Q6_K"
		}
	}
	if nx%t.BlockSize() != 0 {
		t, note = gguf.F16, fmt.Sprintf("rows of %d are not a multiple of %d: F16", nx, t.BlockSize())
	}
	if t == ftype {
		note = ""
	}
	return t, note, nil
}

// open recognises the input and reads its metadata and tensor list.
func open(in string, opts Options, ftype uint32) (*source, error) {
	st, err := os.Stat(in)
	if err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	name := opts.Name
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(filepath.Clean(in)), filepath.Ext(in))
	}
	switch {
	case st.IsDir():
		return openHF(in, name, opts, ftype)
	case strings.EqualFold(filepath.Ext(in), ".gguf"):
		return openGGUF(in, opts, ftype)
	case strings.EqualFold(filepath.Ext(in), ".bin"):
		return openLlama2C(in, name, opts, ftype)
	}
	return nil, fmt.Errorf("quantize: %s: %w (want a Hugging Face Llama folder, a llama2.c .bin or a .gguf file)", in, ErrUnknownInput)
}

// quantized reports whether ftype is one of the quantized file types.
func quantized(ftype uint32) bool { return ftype == 2 || ftype == 7 }
