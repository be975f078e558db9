package infer

import (
	"fmt"

	"github.com/glossa-ai/glossa/kernels"
)

// Embedding is a [V, C] table of row vectors, in float32 or bfloat16.
type Embedding struct {
	V, C int
	f32  []float32 // [V, C], or nil
	bf16 []uint16  // [V, C], or nil
}

// NewEmbedding returns the table w [V, C] (aliased) in float32, or rounded
// to bfloat16 when f is BF16.
func NewEmbedding(w []float32, V, C int, f Format) *Embedding {
	if len(w) != V*C {
		panic(fmt.Sprintf("infer: NewEmbedding: %d values for a %d×%d table", len(w), V, C))
	}
	if f == BF16 {
		return &Embedding{V: V, C: C, bf16: toBF16(w, C, V, OutIn)}
	}
	return &Embedding{V: V, C: C, f32: w}
}

// Lookup writes row id into dst [C].
func (e *Embedding) Lookup(dst []float32, id int) {
	if e.bf16 != nil {
		kernels.BF16ToF32(dst, e.bf16[id*e.C:(id+1)*e.C])
		return
	}
	copy(dst, e.f32[id*e.C:(id+1)*e.C])
}

// AddTo adds row id to dst [C].
func (e *Embedding) AddTo(dst []float32, id int, tmp []float32) {
	if e.bf16 != nil {
		kernels.BF16ToF32(tmp, e.bf16[id*e.C:(id+1)*e.C])
		kernels.Add(dst, dst, tmp)
		return
	}
	kernels.Add(dst, dst, e.f32[id*e.C:(id+1)*e.C])
}

// Rows returns the float32 table, or nil when it is stored in bfloat16.
func (e *Embedding) Rows() []float32 { return e.f32 }

// Tied returns the table as the weight of a tied output head, logits =
// h·Eᵀ, sharing its storage.
func (e *Embedding) Tied() Weight {
	if e.bf16 != nil {
		return BF16Weight(e.bf16, e.C, e.V)
	}
	return DenseWeight(e.f32, e.C, e.V)
}

// Bytes reports the table's size in bytes.
func (e *Embedding) Bytes() int {
	if e.bf16 != nil {
		return 2 * len(e.bf16)
	}
	return 4 * len(e.f32)
}
