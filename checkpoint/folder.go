package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// File names of a Hugging Face model folder.
const (
	// SingleFileName is the name of an unsharded safetensors checkpoint.
	SingleFileName = "model.safetensors"
	// IndexFileName is the name of the index of a sharded checkpoint.
	IndexFileName = "model.safetensors.index.json"
)

// MaxIndexSize bounds the size of a model.safetensors.index.json file.
const MaxIndexSize = 64 << 20

// Index is a parsed model.safetensors.index.json: which shard file holds
// each tensor.
type Index struct {
	// TotalSize is metadata.total_size, the bytes of tensor data the index
	// describes as its writer counted them, or -1 if absent. It is
	// informational: writers disagree on what it counts, so OpenFolder does
	// not check it.
	TotalSize int64
	// WeightMap maps each tensor name to the base name of its shard file.
	WeightMap map[string]string
}

// Shards returns the distinct shard file names in sorted order.
func (ix *Index) Shards() []string {
	var s []string
	for _, f := range ix.WeightMap {
		s = append(s, f)
	}
	sort.Strings(s)
	return slices.Compact(s)
}

// ReadIndex reads and validates a model.safetensors.index.json file.
func ReadIndex(path string) (*Index, error) {
	data, err := readBounded(path, MaxIndexSize)
	if err != nil {
		return nil, err
	}
	ix, err := ParseIndex(data)
	if err != nil {
		var ce *Error
		if errors.As(err, &ce) {
			ce.File = path
		}
		return nil, err
	}
	return ix, nil
}

// ParseIndex parses and validates the JSON of a safetensors index: an object
// with a non-empty "weight_map" from tensor names to shard file names, which
// must be plain base names (no directories, no ".."), and an optional
// "metadata" object whose "total_size", if present, is a non-negative integer.
func ParseIndex(data []byte) (*Index, error) {
	fail := func(err error) (*Index, error) { return nil, &Error{Err: err} }
	var raw struct {
		Metadata  map[string]json.RawMessage `json:"metadata"`
		WeightMap map[string]string          `json:"weight_map"`
	}
	if err := DecodeJSON(data, &raw); err != nil {
		return fail(err)
	}
	if len(raw.WeightMap) == 0 {
		return fail(errorf("index has no weight_map entries"))
	}
	ix := &Index{TotalSize: -1, WeightMap: raw.WeightMap}
	if ts, ok := raw.Metadata["total_size"]; ok {
		var n json.Number
		if err := json.Unmarshal(ts, &n); err != nil {
			return fail(errorf("metadata.total_size %s is not a number", ts))
		}
		v, err := n.Int64()
		if err != nil || v < 0 {
			// Some writers store an integral float (1.5e9); accept those.
			f, ferr := n.Float64()
			if ferr != nil || f < 0 || f != float64(int64(f)) {
				return fail(errorf("metadata.total_size %s is not a non-negative integer", n))
			}
			v = int64(f)
		}
		ix.TotalSize = v
	}
	for name, shard := range ix.WeightMap {
		if !validShardName(shard) {
			return nil, &Error{Tensor: name, Err: errorf("invalid shard file name %q", shard)}
		}
	}
	return ix, nil
}

// validShardName reports whether s names a file directly inside the folder.
func validShardName(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, `/\:`) && filepath.IsLocal(s)
}

// Folder is the safetensors checkpoint of a Hugging Face model folder, one
// file or several shards, presented as one collection of tensors. It is safe
// for concurrent use until Close.
type Folder struct {
	dir   string
	index *Index  // nil for a single file
	files []*File // shards in index order
	where map[string]*File
	names []string
}

var _ Reader = (*Folder)(nil)

// OpenFolder opens the checkpoint of a Hugging Face model folder: dir/
// model.safetensors if it exists, otherwise the shards listed by dir/
// model.safetensors.index.json. Every shard is opened and checked against
// the index: each listed tensor must be in its shard, and each shard may hold
// only tensors the index assigns to it.
func OpenFolder(dir string) (*Folder, error) {
	single := filepath.Join(dir, SingleFileName)
	if _, err := os.Stat(single); err == nil {
		f, err := Open(single)
		if err != nil {
			return nil, err
		}
		return newFolder(dir, nil, []*File{f}), nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	indexPath := filepath.Join(dir, IndexFileName)
	if _, err := os.Stat(indexPath); errors.Is(err, fs.ErrNotExist) {
		msg := fmt.Sprintf("no %s or %s", SingleFileName, IndexFileName)
		for _, other := range []string{"pytorch_model.bin", "pytorch_model.bin.index.json", "model.pt"} {
			if _, err := os.Stat(filepath.Join(dir, other)); err == nil {
				msg += fmt.Sprintf(" (found %s: PyTorch pickle checkpoints are not supported; convert to safetensors)", other)
				break
			}
		}
		return nil, &Error{File: dir, Err: sentinelf(fs.ErrNotExist, "%s", msg)}
	}
	ix, err := ReadIndex(indexPath)
	if err != nil {
		return nil, err
	}
	var files []*File
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	for _, shard := range ix.Shards() {
		f, err := Open(filepath.Join(dir, shard))
		if err != nil {
			closeAll()
			if errors.Is(err, fs.ErrNotExist) {
				return nil, &Error{File: indexPath, Err: fmt.Errorf("shard %s: %w", shard, err)}
			}
			return nil, err
		}
		files = append(files, f)
	}
	byShard := make(map[string]*File, len(files))
	for _, f := range files {
		byShard[filepath.Base(f.path)] = f
	}
	for name, shard := range ix.WeightMap {
		if _, ok := byShard[shard].byName[name]; !ok {
			closeAll()
			return nil, &Error{File: indexPath, Tensor: name,
				Err: sentinelf(ErrMissingTensor, "listed in %s, which does not contain it", shard)}
		}
	}
	for _, f := range files {
		for _, name := range f.names {
			if want, ok := ix.WeightMap[name]; !ok || want != filepath.Base(f.path) {
				closeAll()
				if !ok {
					return nil, &Error{File: f.path, Tensor: name, Err: errorf("not listed in %s", IndexFileName)}
				}
				return nil, &Error{File: f.path, Tensor: name, Err: errorf("%s assigns it to %s", IndexFileName, want)}
			}
		}
	}
	return newFolder(dir, ix, files), nil
}

func newFolder(dir string, ix *Index, files []*File) *Folder {
	fo := &Folder{dir: dir, index: ix, files: files, where: map[string]*File{}}
	for _, f := range files {
		for _, name := range f.names {
			fo.where[name] = f
			fo.names = append(fo.names, name)
		}
	}
	sort.Strings(fo.names)
	return fo
}

// Dir returns the folder's path.
func (fo *Folder) Dir() string { return fo.dir }

// Index returns the parsed index, or nil for a single-file checkpoint.
func (fo *Folder) Index() *Index { return fo.index }

// Files returns the opened safetensors files (one, or the shards in name
// order). They are owned by the Folder: do not close them.
func (fo *Folder) Files() []*File { return slices.Clone(fo.files) }

// Names returns every tensor name across the shards, sorted.
func (fo *Folder) Names() []string { return slices.Clone(fo.names) }

// Info describes the named tensor; ok is false if no shard holds it.
func (fo *Folder) Info(name string) (TensorInfo, bool) {
	f, ok := fo.where[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.Info(name)
}

// file returns the file holding name or an ErrMissingTensor error.
func (fo *Folder) file(name string) (*File, error) {
	f, ok := fo.where[name]
	if !ok {
		return nil, &Error{File: fo.dir, Tensor: name, Err: ErrMissingTensor}
	}
	return f, nil
}

// Float32 returns the named tensor as a new float32 slice (see File.Float32).
func (fo *Folder) Float32(name string) ([]float32, error) {
	f, err := fo.file(name)
	if err != nil {
		return nil, err
	}
	return f.Float32(name)
}

// Float32Into converts the named tensor into dst (see File.Float32Into).
func (fo *Folder) Float32Into(dst []float32, name string) error {
	f, err := fo.file(name)
	if err != nil {
		return err
	}
	return f.Float32Into(dst, name)
}

// Float32View returns a zero-copy view of an F32 tensor when possible (see
// File.Float32View).
func (fo *Folder) Float32View(name string) ([]float32, bool) {
	f, ok := fo.where[name]
	if !ok {
		return nil, false
	}
	return f.Float32View(name)
}

// Bytes returns the raw bytes of the named tensor (see File.Bytes).
func (fo *Folder) Bytes(name string) ([]byte, error) {
	f, err := fo.file(name)
	if err != nil {
		return nil, err
	}
	return f.Bytes(name)
}

// Metadata returns the metadata of the first file; Hugging Face writes the
// same metadata ({"format": "pt"}) into every shard.
func (fo *Folder) Metadata() map[string]string {
	if len(fo.files) == 0 {
		return nil
	}
	return fo.files[0].Metadata()
}

// Close closes every file, returning the first error.
func (fo *Folder) Close() error {
	var first error
	for _, f := range fo.files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
