package infer

import (
	"fmt"
	"unsafe"

	"github.com/glossa-ai/glossa/kernels"
)

// Embedding is a [V, C] table of row vectors, in float32, bfloat16, or
// llama.cpp's Q8_0 or Q4_0 blocks (C/32 blocks a row).
type Embedding struct {
	V, C int
	f32  []float32 // [V, C], or nil
	bf16 []uint16  // [V, C], or nil
	q    []byte    // [V, C/32] blocks of format qf, or nil
	qf   Format
	// mapped says bf16 aliases a memory-mapped file, whose pages Tied
	// releases once it has packed the table for the output head.
	mapped bool
	// packed is the bfloat16 table packed for the tied output head (Tied
	// made it, then dropped bf16): lookups read their row from it, so the
	// table is held once.
	packed *kernels.PackedBF16
	tied   Weight // Tied's result, made once
}

// NewEmbedding returns the table w [V, C] (aliased) in float32, or rounded
// to bfloat16 when f is BF16, or quantized when f is Q8_0 or Q4_0 (float32
// when C is not a multiple of 32).
func NewEmbedding(w []float32, V, C int, f Format) *Embedding {
	if len(w) != V*C {
		panic(fmt.Sprintf("infer: NewEmbedding: %d values for a %d×%d table", len(w), V, C))
	}
	switch {
	case f == BF16:
		return &Embedding{V: V, C: C, bf16: toBF16(w, C, V, OutIn)}
	case f.quantized() && C%kernels.QK == 0:
		return &Embedding{V: V, C: C, q: quantize(f, w, V, C), qf: f}
	}
	return &Embedding{V: V, C: C, f32: w}
}

// Lookup writes row id into dst [C] (a quantized row dequantized).
func (e *Embedding) Lookup(dst []float32, id int) {
	if e.q != nil {
		dequantizeRow(dst, e.q, e.qf, id, e.C)
		return
	}
	if e.bf16 != nil {
		kernels.BF16ToF32(dst, e.bf16[id*e.C:(id+1)*e.C])
		return
	}
	if e.packed != nil {
		e.packed.Column(dst, id)
		return
	}
	copy(dst, e.f32[id*e.C:(id+1)*e.C])
}

// AddTo adds row id to dst [C]; tmp [C] is scratch for a row stored in
// another format than float32.
func (e *Embedding) AddTo(dst []float32, id int, tmp []float32) {
	if e.q != nil {
		dequantizeRow(tmp, e.q, e.qf, id, e.C)
		kernels.Add(dst, dst, tmp[:e.C])
		return
	}
	if e.bf16 != nil || e.packed != nil {
		e.Lookup(tmp[:e.C], id)
		kernels.Add(dst, dst, tmp[:e.C])
		return
	}
	kernels.Add(dst, dst, e.f32[id*e.C:(id+1)*e.C])
}

// Rows returns the float32 table, or nil when it is stored in another
// format.
func (e *Embedding) Rows() []float32 { return e.f32 }

// Format reports how the table is stored.
func (e *Embedding) Format() Format {
	switch {
	case e.q != nil:
		return e.qf
	case e.bf16 != nil || e.packed != nil:
		return BF16
	}
	return F32
}

// Head returns the output head tied to the table, logits = h·Eᵀ + bias
// (bias nil: none), sharing its storage; nil for a nil table (the lookup
// of a Builder that failed). A bfloat16 table is packed for the head's
// product where the CPU has AVX-512 BF16, and the embedding then reads its
// rows from that packed copy and drops (or, mapped, releases) its own, so
// the table is held once. Call it while loading, before the model is
// shared; later calls share the same weight.
func (e *Embedding) Head(bias []float32) *Linear {
	if e == nil {
		return nil
	}
	if e.tied == nil {
		switch {
		case e.q != nil:
			e.tied = newQuantWeight(e.qf, e.C, e.V, [][]byte{e.q}, []int{e.V})
		case e.bf16 != nil:
			w := BF16Weight(e.bf16, e.C, e.V).(*bf16Weight)
			if w.pb != nil {
				if e.mapped {
					releasePages(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(e.bf16))), 2*len(e.bf16)))
				}
				e.packed, e.bf16 = w.pb, nil
			}
			e.tied = w
		default:
			e.tied = DenseWeight(e.f32, e.C, e.V)
		}
	}
	return NewLinear(e.tied, bias)
}

// Bytes reports the table's size in bytes.
func (e *Embedding) Bytes() int {
	if e.q != nil {
		return len(e.q)
	}
	if e.bf16 != nil {
		return 2 * len(e.bf16)
	}
	if e.packed != nil {
		return 2 * e.V * e.C
	}
	return 4 * len(e.f32)
}
