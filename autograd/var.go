package autograd

import (
	"fmt"

	"github.com/glossa-ai/glossa/tensor"
)

// Var is a node of the dynamic computation graph: a Value and, once
// Backward has reached it, the gradient of the output with respect to it.
//
// Leaves are created with Param (requires gradients; its Grad persists and
// accumulates across Backward calls until ZeroGrad) or Const (no gradients).
// Every op returns a new Var; it records how to back-propagate only when one
// of its inputs requires gradients, so inference builds no graph.
type Var struct {
	// Value is the forward value. Values computed by ops under a Graph are
	// drawn from its pool and stay valid until Graph.Reset.
	Value *tensor.Tensor
	// Grad is d output / d Value, with Value's shape, or nil before any
	// gradient arrived. For leaves it accumulates over Backward calls; for
	// intermediate results it is released when Backward is done with it.
	Grad *tensor.Tensor

	requiresGrad bool
	leaf         bool
	graph        *Graph
	parents      []*Var
	backward     func(grad *tensor.Tensor)
	visited      bool
	done         bool
}

// Param returns a leaf that requires gradients, such as a model parameter.
func Param(value *tensor.Tensor) *Var { return &Var{Value: value, requiresGrad: true, leaf: true} }

// Const returns a leaf that does not require gradients (inputs, masks,
// frozen weights).
func Const(value *tensor.Tensor) *Var { return &Var{Value: value, leaf: true} }

// NewVar returns a leaf with the given gradient requirement.
func NewVar(value *tensor.Tensor, requiresGrad bool) *Var {
	return &Var{Value: value, requiresGrad: requiresGrad, leaf: true}
}

// RequiresGrad reports whether gradients flow to v.
func (v *Var) RequiresGrad() bool { return v.requiresGrad }

// SetRequiresGrad switches gradient tracking of a leaf (for freezing
// parameters). It panics on a non-leaf.
func (v *Var) SetRequiresGrad(on bool) {
	if !v.leaf {
		panic("autograd: SetRequiresGrad on a non-leaf variable")
	}
	v.requiresGrad = on
}

// IsLeaf reports whether v was created by Param, Const or NewVar (or
// Detach) rather than by an op.
func (v *Var) IsLeaf() bool { return v.leaf }

// Shape returns v.Value's shape.
func (v *Var) Shape() tensor.Shape { return v.Value.Shape() }

// Graph returns the graph v's ops draw buffers from, or nil.
func (v *Var) Graph() *Graph { return v.graph }

// Detach returns a leaf sharing v's Value that does not require gradients.
func (v *Var) Detach() *Var { return &Var{Value: v.Value, leaf: true, graph: v.graph} }

// EnsureGrad returns v's gradient, allocating a zero-filled one if v has
// none yet. A leaf's gradient buffer, once allocated, is never replaced (only
// zeroed and accumulated into), so optimizers may keep its Data slice.
func (v *Var) EnsureGrad() *tensor.Tensor { return gradZeroed(v) }

// ZeroGrad sets v's gradient to zero, keeping its buffer.
func (v *Var) ZeroGrad() {
	if v.Grad != nil {
		v.Grad.Zero()
	}
}

// ZeroGrad zeroes the gradients of all vs.
func ZeroGrad(vs ...*Var) {
	for _, v := range vs {
		v.ZeroGrad()
	}
}

// String describes v briefly.
func (v *Var) String() string {
	return fmt.Sprintf("Var%v(requires_grad=%v)", v.Value.Shape(), v.requiresGrad)
}

// graphOf returns the first non-nil graph among vs.
func graphOf(vs ...*Var) *Graph {
	for _, v := range vs {
		if v != nil && v.graph != nil {
			return v.graph
		}
	}
	return nil
}

func anyGrad(vs ...*Var) bool {
	for _, v := range vs {
		if v != nil && v.requiresGrad {
			return true
		}
	}
	return false
}

// tracking reports whether an op over vs under g must record a graph node:
// some input requires gradients and g is not in no-grad mode.
func tracking(g *Graph, vs ...*Var) bool {
	return (g == nil || !g.noGrad) && anyGrad(vs...)
}

// record wraps value as the result of an op over parents. The backward
// closure is kept only if some parent requires gradients.
func record(g *Graph, value *tensor.Tensor, backward func(grad *tensor.Tensor), parents ...*Var) *Var {
	out := &Var{Value: value, graph: g}
	if !tracking(g, parents...) {
		return out
	}
	out.requiresGrad = true
	out.parents = parents
	out.backward = backward
	return out
}

// Backward computes the gradient of loss, which must hold a single element,
// with respect to every variable it depends on that requires gradients,
// accumulating into their Grad. Afterwards the graph behind loss is freed:
// calling Backward on it again does nothing further. It panics if loss does
// not require gradients. To back-propagate several losses through shared
// parts of a graph, add them and call Backward once.
func Backward(loss *Var) {
	if loss.Value.Numel() != 1 {
		panic(&tensor.ShapeError{Op: "backward", Shapes: []tensor.Shape{loss.Value.Shape()}, Msg: "loss must have one element; use BackwardWith"})
	}
	BackwardWith(loss, nil)
}

// BackwardWith back-propagates from out with upstream gradient grad (out's
// shape; nil means ones), as torch.Tensor.backward(gradient).
func BackwardWith(out *Var, grad *tensor.Tensor) {
	if !out.requiresGrad {
		panic("autograd: Backward on a variable that does not require gradients")
	}
	if grad != nil && !grad.Shape().Equal(out.Value.Shape()) {
		panic(&tensor.ShapeError{Op: "backward", Shapes: []tensor.Shape{out.Value.Shape(), grad.Shape()}, Msg: "gradient shape differs from output"})
	}
	g := out.graph
	order := topoSort(g, out)
	accumulateWith(out, func(dst *tensor.Tensor) {
		if grad == nil {
			dst.Fill(1)
		} else {
			dst.CopyFrom(grad)
		}
	})
	for i := len(order) - 1; i >= 0; i-- {
		v := order[i]
		if v.Grad != nil && v.backward != nil {
			v.backward(v.Grad)
		}
		if !v.leaf {
			v.graph.releaseTemp(v.Grad)
			v.Grad = nil
			v.backward = nil
			v.parents = nil
		}
	}
	if g != nil {
		clear(g.topo)
		g.topo = order[:0]
	}
}

// topoSort returns the variables reachable from out through parents that
// require gradients, each once, parents before children.
func topoSort(g *Graph, out *Var) []*Var {
	var order, stack []*Var
	if g != nil {
		order, stack = g.topo[:0], g.stack[:0]
	}
	// Iterative post-order DFS: a var is expanded on its first pop (visited)
	// and emitted on the next (done); stale duplicates are skipped.
	stack = append(stack, out)
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		if v.done {
			stack = stack[:len(stack)-1]
			continue
		}
		if v.visited {
			stack = stack[:len(stack)-1]
			v.done = true
			order = append(order, v)
			continue
		}
		v.visited = true
		for _, p := range v.parents {
			if p != nil && p.requiresGrad && !p.visited {
				stack = append(stack, p)
			}
		}
	}
	for _, v := range order {
		v.visited, v.done = false, false
	}
	if g != nil {
		clear(stack[:cap(stack)])
		g.stack = stack[:0]
	}
	return order
}
