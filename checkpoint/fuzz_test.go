package checkpoint

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"testing"
)

func FuzzParse(f *testing.F) {
	var buf bytes.Buffer
	Write(&buf, []Tensor{
		{Name: "w", Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}},
		{Name: "b", Shape: []int{3}, Data: []float32{-1, 0.5, 7}, DType: BF16},
		{Name: "s", Data: []float32{42}},
	}, map[string]string{"format": "pt"})
	f.Add(buf.Bytes())
	f.Add(rawFile(`{}`, nil))
	f.Add(rawFile(`{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"I64","shape":[1],"data_offsets":[4,12]}}`, make([]byte, 12)))
	f.Add(rawFile(`{"a":{"dtype":"F8_E4M3","shape":[0,3],"data_offsets":[0,0]},"c":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}`, make([]byte, 8)))
	f.Add(rawFile(`{"a":{"dtype":"F32","shape":[1000000000],"data_offsets":[0,4000000000]}}`, nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			return
		}
		var resave []Tensor
		for _, name := range file.Names() {
			info, ok := file.Info(name)
			b, err := file.Bytes(name)
			if !ok || err != nil || int64(len(b)) != info.NumBytes() || len(b) != info.NumElements()*info.DType.Size() {
				t.Fatalf("%q: info %+v ok %v, %d bytes, %v", name, info, ok, len(b), err)
			}
			if !info.DType.IsFloat() {
				continue
			}
			v, err := file.Float32(name)
			if err != nil || len(v) != info.NumElements() {
				t.Fatalf("Float32(%q): %d values, %v", name, len(v), err)
			}
			resave = append(resave, Tensor{Name: name, Shape: info.Shape, Data: v})
		}
		// Float tensors written back as F32 must read back bit for bit.
		var out bytes.Buffer
		if err := Write(&out, resave, file.Metadata()); err != nil {
			t.Fatalf("Write of parsed tensors: %v", err)
		}
		again, err := Parse(out.Bytes())
		if err != nil {
			t.Fatalf("Parse of rewritten file: %v", err)
		}
		for _, ts := range resave {
			v, err := again.Float32(ts.Name)
			if err != nil || !slices.EqualFunc(v, ts.Data, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }) {
				t.Fatalf("%q changed in the round trip (%v)", ts.Name, err)
			}
		}
	})
}

func FuzzParseIndex(f *testing.F) {
	f.Add([]byte(`{"metadata":{"total_size":72},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}`))
	f.Add([]byte(`{"weight_map":{"a":"../x"}}`))
	f.Add([]byte(`{"metadata":{"total_size":1.5e3},"weight_map":{"a":"s"}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ix, err := ParseIndex(data)
		if err != nil {
			return
		}
		if len(ix.WeightMap) == 0 || ix.TotalSize < -1 {
			t.Fatalf("accepted index %+v", ix)
		}
		for _, s := range ix.Shards() {
			if !validShardName(s) {
				t.Fatalf("accepted shard name %q", s)
			}
		}
	})
}

func FuzzParseLlama2C(f *testing.F) {
	// dim 2, hidden 3, 1 layer, 1 head, 1 kv head, vocab ±2, seq 1.
	shared := 2*2 + 2 + 4 + 4 + 4 + 4 + 2 + 6 + 6 + 6 + 2 + 1 + 1
	f.Add(llama2cFile([7]int32{2, 3, 1, 1, 1, 2, 1}, shared))
	f.Add(llama2cFile([7]int32{2, 3, 1, 1, 1, -2, 1}, shared+4))
	f.Add(llama2cFile([7]int32{4, 3, 2, 2, 1, 3, 2}, 10))
	f.Add(llama2cFile([7]int32{0x616b3432, 1, 0, 0, 0, 0, 0}, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseLlama2C(data)
		if err != nil {
			return
		}
		n := 0
		for _, a := range [][]float32{m.TokenEmbedding, m.RMSAtt, m.WQ, m.WK, m.WV, m.WO, m.RMSFFN, m.W1, m.W2, m.W3, m.RMSFinal, m.FreqCisReal, m.FreqCisImag} {
			n += len(a)
		}
		if !m.Config.SharedClassifier {
			n += len(m.WCls)
		}
		if llama2cHeaderSize+4*n != len(data) || len(m.WCls) != m.Config.VocabSize*m.Config.Dim {
			t.Fatalf("config %+v: %d floats for %d bytes", m.Config, n, len(data))
		}
	})
}

func FuzzDecodeJSON(f *testing.F) {
	f.Add([]byte(`{"hidden_size": 64, "rope_scaling": null, "architectures": ["LlamaForCausalLM"]}`))
	f.Add([]byte("{\n  \"a\": 1,\n}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var cfg struct {
			Hidden int      `json:"hidden_size"`
			Arch   []string `json:"architectures"`
		}
		DecodeJSON(data, &cfg) // type errors are fine; panics are not
		var v any
		// Valid JSON may still fail to decode (a number beyond float64).
		if err := DecodeJSON(data, &v); err == nil && !json.Valid(data) {
			t.Fatalf("DecodeJSON(%q) = %v, json.Valid = %v", data, err, json.Valid(data))
		}
	})
}
