package nn

import (
	"encoding/binary"
	"path/filepath"
	"testing"
)

func FuzzParseSafetensors(f *testing.F) {
	hdr := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"format":"pt"}}`
	seed := binary.LittleEndian.AppendUint64(nil, uint64(len(hdr)))
	seed = append(seed, hdr...)
	seed = append(seed, 0, 0, 128, 63, 0, 0, 0, 64)
	f.Add(seed)
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, '{'})
	f.Add(binary.LittleEndian.AppendUint64(nil, 1<<62))
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, err := parseSafetensors(data)
		if err != nil {
			return
		}
		for name, tt := range ts {
			n := 1
			for _, d := range tt.shape {
				n *= d
			}
			if n != len(tt.data) {
				t.Fatalf("%s: %d values for shape %v", name, len(tt.data), tt.shape)
			}
		}
	})
}

func TestSafetensorsRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.safetensors")
	in := []namedTensor{{"b", []int{2, 2}, []float32{1, 2, 3, 4}}, {"a", []int{1}, []float32{-0.5}}}
	if err := writeSafetensors(path, in); err != nil {
		t.Fatal(err)
	}
	got, err := ReadTensors(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["b"].Data[3] != 4 || got["a"].Data[0] != -0.5 || got["b"].Shape[1] != 2 {
		t.Fatalf("round trip gave %+v", got)
	}
}
