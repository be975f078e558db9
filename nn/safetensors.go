package nn

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
)

// A minimal float32 safetensors reader and writer, private to this package
// until the checkpoint package provides the shared one (mmap, f16/bf16,
// shards). Format: an 8-byte little-endian header length, a JSON header
// mapping names to {dtype, shape, data_offsets}, then the raw data.

type namedTensor struct {
	name  string
	shape []int
	data  []float32
}

type stEntry struct {
	DType   string `json:"dtype"`
	Shape   []int  `json:"shape"`
	Offsets [2]int `json:"data_offsets"`
}

// maxHeader bounds the JSON header a reader accepts.
const maxHeader = 100 << 20

// readSafetensors loads every F32 tensor of a file; other dtypes are an
// error.
func readSafetensors(path string) (map[string]namedTensor, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseSafetensors(raw)
}

func parseSafetensors(raw []byte) (map[string]namedTensor, error) {
	if len(raw) < 8 {
		return nil, fmt.Errorf("safetensors: file of %d bytes has no header", len(raw))
	}
	hl := binary.LittleEndian.Uint64(raw)
	if hl > maxHeader || hl > uint64(len(raw)-8) {
		return nil, fmt.Errorf("safetensors: header length %d exceeds the file", hl)
	}
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(raw[8:8+hl], &hdr); err != nil {
		return nil, fmt.Errorf("safetensors: header: %w", err)
	}
	body := raw[8+hl:]
	out := make(map[string]namedTensor, len(hdr))
	for name, msg := range hdr {
		if name == "__metadata__" {
			continue
		}
		var e stEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, fmt.Errorf("safetensors: tensor %q: %w", name, err)
		}
		if e.DType != "F32" {
			return nil, fmt.Errorf("safetensors: tensor %q has dtype %s; only F32 is supported here", name, e.DType)
		}
		n := 1
		for _, d := range e.Shape {
			if d < 0 || (d > 0 && n > math.MaxInt32/d) {
				return nil, fmt.Errorf("safetensors: tensor %q has bad shape %v", name, e.Shape)
			}
			n *= d
		}
		lo, hi := e.Offsets[0], e.Offsets[1]
		if lo < 0 || hi < lo || hi > len(body) || hi-lo != 4*n {
			return nil, fmt.Errorf("safetensors: tensor %q: offsets [%d, %d) do not hold %v float32 in %d bytes", name, lo, hi, e.Shape, len(body))
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = math.Float32frombits(binary.LittleEndian.Uint32(body[lo+4*i:]))
		}
		out[name] = namedTensor{name, e.Shape, data}
	}
	return out, nil
}

// writeSafetensors writes ts as F32 tensors, names sorted, atomically (a
// temporary file renamed into place).
func writeSafetensors(path string, ts []namedTensor) error {
	sort.Slice(ts, func(i, j int) bool { return ts[i].name < ts[j].name })
	hdr := make(map[string]stEntry, len(ts))
	off := 0
	for _, t := range ts {
		hdr[t.name] = stEntry{DType: "F32", Shape: t.shape, Offsets: [2]int{off, off + 4*len(t.data)}}
		off += 4 * len(t.data)
	}
	js, err := json.Marshal(hdr)
	if err != nil {
		return err
	}
	for len(js)%8 != 0 {
		js = append(js, ' ')
	}
	buf := make([]byte, 8, 8+len(js)+off)
	binary.LittleEndian.PutUint64(buf, uint64(len(js)))
	buf = append(buf, js...)
	for _, t := range ts {
		for _, v := range t.data {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		}
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
