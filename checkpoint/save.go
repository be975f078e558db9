package checkpoint

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"github.com/glossa-ai/glossa/internal/atomicfile"
	"io"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"sort"

	"github.com/glossa-ai/glossa/kernels"
)

// Tensor is a named float32 tensor to be saved.
type Tensor struct {
	Name  string    // tensor name in the file; names must be unique
	Shape []int     // row-major; the product must equal len(Data)
	Data  []float32 // read, not retained
	// DType is the dtype stored in the file: F32 (also meant by the zero
	// value) or BF16, rounded to nearest even.
	DType DType
}

// storedDType resolves the zero value to F32.
func (t *Tensor) storedDType() DType {
	if t.DType == 0 {
		return F32
	}
	return t.DType
}

// Save writes tensors and metadata to path as a safetensors file, atomically:
// the data goes to a temporary file in the same directory, which is synced
// and renamed over path, and the directory is then synced, so path holds
// either its old content or the complete new file. See Write for the layout.
// The file is created with mode 0644.
func Save(path string, tensors []Tensor, metadata map[string]string) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".tmp-*.safetensors")
	if err != nil {
		return fmt.Errorf("checkpoint: save: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := Write(tmp, tensors, metadata); err != nil {
		if ce, ok := err.(*Error); ok {
			ce.File = path
			return ce
		}
		return fmt.Errorf("checkpoint: %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return &Error{File: path, Err: err}
	}
	if err := tmp.Chmod(0o644); err != nil {
		return &Error{File: path, Err: err}
	}
	if err := tmp.Close(); err != nil {
		return &Error{File: path, Err: err}
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return &Error{File: path, Err: err}
	}
	if err := atomicfile.SyncDir(dir); err != nil {
		return &Error{File: path, Err: fmt.Errorf("sync directory: %w", err)}
	}
	return nil
}

// Write encodes tensors and metadata as a safetensors file to w. The data
// buffer holds the tensors ordered by dtype (F32 before BF16, as the
// reference writer orders by alignment) and then by name; the JSON header
// has its keys sorted and is padded with spaces so that the data starts at a
// multiple of 8 bytes. Names must be unique, non-empty and not
// "__metadata__". Invalid tensors are reported as *Error before anything is
// written; errors from w are returned unchanged.
func Write(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	order := make([]int, len(tensors))
	seen := make(map[string]bool, len(tensors))
	for i := range tensors {
		t := &tensors[i]
		if err := checkTensor(t); err != nil {
			return &Error{Tensor: t.Name, Err: err}
		}
		if seen[t.Name] {
			return &Error{Tensor: t.Name, Err: fmt.Errorf("duplicate tensor name")}
		}
		seen[t.Name] = true
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool {
		ta, tb := &tensors[order[a]], &tensors[order[b]]
		if da, db := ta.storedDType(), tb.storedDType(); da != db {
			return da > db
		}
		return ta.Name < tb.Name
	})

	header := make(map[string]any, len(tensors)+1)
	if len(metadata) > 0 {
		header[metadataKey] = metadata
	}
	var off int64
	for _, i := range order {
		t := &tensors[i]
		dt := t.storedDType()
		n := int64(len(t.Data)) * int64(dt.Size())
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		header[t.Name] = struct {
			DType   DType    `json:"dtype"`
			Shape   []int    `json:"shape"`
			Offsets [2]int64 `json:"data_offsets"`
		}{dt, shape, [2]int64{off, off + n}}
		off += n
	}
	hdr, err := json.Marshal(header) // map keys come out sorted
	if err != nil {
		return &Error{Err: fmt.Errorf("encode header: %w", err)}
	}
	for (8+len(hdr))%8 != 0 {
		hdr = append(hdr, ' ')
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var lenField [8]byte
	binary.LittleEndian.PutUint64(lenField[:], uint64(len(hdr)))
	bw.Write(lenField[:])
	bw.Write(hdr)
	for _, i := range order {
		if err := writeData(bw, &tensors[i]); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return nil
}

// checkTensor validates a tensor to be saved.
func checkTensor(t *Tensor) error {
	if t.Name == "" || t.Name == metadataKey {
		return fmt.Errorf("invalid tensor name %q", t.Name)
	}
	if dt := t.storedDType(); dt != F32 && dt != BF16 {
		return sentinelf(ErrDType, "cannot save as %s (F32 or BF16 only)", dt)
	}
	n := uint64(1)
	for _, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("negative dimension in shape %v", t.Shape)
		}
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > math.MaxInt {
			return fmt.Errorf("shape %v overflows", t.Shape)
		}
		n = lo
	}
	if n != uint64(len(t.Data)) {
		return fmt.Errorf("shape %v holds %d elements, data has %d", t.Shape, n, len(t.Data))
	}
	return nil
}

// writeData writes t's elements little-endian in its stored dtype.
func writeData(w *bufio.Writer, t *Tensor) error {
	if t.storedDType() == F32 && littleEndian() {
		_, err := w.Write(float32Bytes(t.Data))
		return err
	}
	var (
		u16 [chunk]uint16
		out [4 * chunk]byte
	)
	for start := 0; start < len(t.Data); start += chunk {
		src := t.Data[start:min(start+chunk, len(t.Data))]
		var b []byte
		if t.storedDType() == BF16 {
			kernels.F32ToBF16(u16[:len(src)], src)
			for i, h := range u16[:len(src)] {
				binary.LittleEndian.PutUint16(out[2*i:], h)
			}
			b = out[:2*len(src)]
		} else {
			for i, v := range src {
				binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
			}
			b = out[:4*len(src)]
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}
