package gguf

import (
	"bytes"
	"runtime"
	"slices"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse. Properties: no panic; memory
// allocated by Parse stays within a small multiple of the input; a file that
// parses can be read through every accessor, and writing its metadata and
// raw tensors back gives a file that parses to the same keys and tensors.
func FuzzParse(f *testing.F) {
	f.Add(sampleFile(f))
	f.Add(twoTensors())
	f.Add(ggufHeader(3, 0, 0).b)
	f.Add(ggufHeader(2, 0, 1).kvU32(KeyAlignment, 8).b)
	f.Add(ggufHeader(3, 1, 0).tensor("q", []uint64{256}, Q4_K, 0).pad(32).zeros(144).b)
	f.Add(ggufHeader(3, 1, 0).tensor("q", []uint64{256}, Q6_K, 0).pad(32).zeros(210).b)
	f.Add(ggufHeader(3, 1, 0).tensor("q", []uint64{32}, Q4_0, 0).pad(32).zeros(18).b)
	f.Add(ggufHeader(3, 0, 1).str("a").u32(uint32(TypeArray)).u32(uint32(TypeArray)).u64(2).
		u32(uint32(TypeString)).u64(1).str("x").u32(uint32(TypeFloat64)).u64(1).u64(0).b)
	f.Fuzz(func(t *testing.T, data []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		file, err := Parse(data)
		runtime.ReadMemStats(&after)
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64*uint64(len(data))+1<<16 {
			t.Fatalf("Parse of %d bytes allocated %d bytes", len(data), alloc)
		}
		if err != nil {
			return
		}
		file.Metadata()
		file.Tokenizer()
		file.LlamaParams()
		for _, k := range file.Keys() {
			v, _ := file.Value(k)
			_ = v.String()
		}
		if file.Alignment() > 1<<12 {
			return // valid, but re-writing would pad to gigabytes
		}
		var w Writer
		for _, k := range file.Keys() {
			v, _ := file.Value(k)
			if err := w.Set(k, v); err != nil {
				t.Fatalf("Set(%q) of a parsed value: %v", k, err)
			}
		}
		for _, ti := range file.Tensors() {
			b, err := file.Bytes(ti.Name)
			if err != nil || int64(len(b)) != ti.Size {
				t.Fatalf("%q: %d bytes, size %d, %v", ti.Name, len(b), ti.Size, err)
			}
			if ti.Type.CanFloat32() {
				v, err := file.Float32(ti.Name)
				if err != nil || int64(len(v)) != ti.NumElements() {
					t.Fatalf("Float32(%q): %d values, %v", ti.Name, len(v), err)
				}
			}
			switch ti.Type {
			case Q8_0:
				if bl, err := file.Q8_0Blocks(ti.Name); err != nil || int64(len(bl)*QK) != ti.NumElements() {
					t.Fatalf("Q8_0Blocks(%q): %d blocks, %v", ti.Name, len(bl), err)
				}
			case Q4_0:
				if bl, err := file.Q4_0Blocks(ti.Name); err != nil || int64(len(bl)*QK) != ti.NumElements() {
					t.Fatalf("Q4_0Blocks(%q): %d blocks, %v", ti.Name, len(bl), err)
				}
			}
			if len(ti.Name) > MaxNameLen {
				continue // the Writer refuses what llama.cpp refuses
			}
			if err := w.AddRawTensor(ti.Name, ti.Shape, ti.Type, b); err != nil {
				t.Fatalf("AddRawTensor(%q): %v", ti.Name, err)
			}
		}
		var buf bytes.Buffer
		if _, err := w.WriteTo(&buf); err != nil {
			t.Fatalf("WriteTo: %v", err)
		}
		again, err := Parse(buf.Bytes())
		if err != nil {
			t.Fatalf("Parse of the re-written file: %v", err)
		}
		if !slices.Equal(again.Keys(), file.Keys()) {
			t.Fatalf("keys %q, want %q", again.Keys(), file.Keys())
		}
		for _, ti := range again.Tensors() {
			b1, _ := file.Bytes(ti.Name)
			b2, _ := again.Bytes(ti.Name)
			if !bytes.Equal(b1, b2) {
				t.Fatalf("%q changed in the round trip", ti.Name)
			}
		}
	})
}
