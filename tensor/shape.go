package tensor

import (
	"errors"
	"fmt"
	"strings"
)

// Shape lists a tensor's dimensions, outermost first. A nil or empty Shape is
// the shape of a scalar (one element).
type Shape []int

// Numel returns the number of elements of a tensor of this shape (1 for a
// scalar).
func (s Shape) Numel() int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// Equal reports whether s and o have the same dimensions.
func (s Shape) Equal(o Shape) bool {
	if len(s) != len(o) {
		return false
	}
	for i := range s {
		if s[i] != o[i] {
			return false
		}
	}
	return true
}

// Clone returns a copy of s that does not share its backing array.
func (s Shape) Clone() Shape { return append(Shape(nil), s...) }

// String formats s like [2 3 4].
func (s Shape) String() string { return fmt.Sprint([]int(s)) }

// ShapeError reports tensors whose shapes do not suit an operation. Op names
// the operation ("matmul", "add", ...), Shapes holds the shapes involved and
// Msg says what is wrong. Operations panic with a *ShapeError on internal
// misuse; entry points fed by user input return one as an error. Use
// errors.As to branch on it, or Try to turn a panic into an error.
type ShapeError struct {
	Op     string  // the operation that failed, e.g. "matmul"
	Shapes []Shape // the operand shapes involved
	Msg    string  // what is wrong with them
}

// Error implements error: "tensor: matmul [2 3] [4 5]: inner dimensions differ".
func (e *ShapeError) Error() string {
	var b strings.Builder
	b.WriteString("tensor: ")
	b.WriteString(e.Op)
	for _, s := range e.Shapes {
		b.WriteByte(' ')
		b.WriteString(s.String())
	}
	if e.Msg != "" {
		b.WriteString(": ")
		b.WriteString(e.Msg)
	}
	return b.String()
}

// shapeErr builds a *ShapeError; msg is formatted with args.
func shapeErr(op, msg string, shapes ...Shape) *ShapeError {
	cl := make([]Shape, len(shapes))
	for i, s := range shapes {
		cl[i] = s.Clone()
	}
	return &ShapeError{Op: op, Shapes: cl, Msg: msg}
}

// Try runs f and returns the *ShapeError it panicked with, if any, so that
// code can validate a computation whose shapes come from user input without
// duplicating every check. Panics other than a *ShapeError propagate.
func Try(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			var se *ShapeError
			if e, ok := r.(error); ok && errors.As(e, &se) {
				err = se
				return
			}
			panic(r)
		}
	}()
	f()
	return nil
}

// BroadcastShapes returns the NumPy broadcast of shapes a and b: aligned from
// the right, each pair of dimensions must be equal or one of them 1.
func BroadcastShapes(a, b Shape) (Shape, error) {
	n := max(len(a), len(b))
	out := make(Shape, n)
	for i := 0; i < n; i++ {
		da, db := 1, 1
		if j := len(a) - n + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - n + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da == db:
			out[i] = da
		case da == 1:
			out[i] = db
		case db == 1:
			out[i] = da
		default:
			return nil, shapeErr("broadcast", "dimensions do not broadcast", a, b)
		}
	}
	return out, nil
}

// normAxis maps a possibly negative axis into [0, ndim) or panics.
func normAxis(op string, axis, ndim int, shape Shape) int {
	if axis < 0 {
		axis += ndim
	}
	if axis < 0 || axis >= ndim {
		panic(shapeErr(op, fmt.Sprintf("axis %d out of range", axis), shape))
	}
	return axis
}

func checkDims(op string, shape []int) {
	for _, d := range shape {
		if d < 0 {
			panic(shapeErr(op, "negative dimension", shape))
		}
	}
}
