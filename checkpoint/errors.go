package checkpoint

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors, matched with errors.Is against the errors this package
// returns.
var (
	// ErrFormat is matched by every error reporting malformed input: a bad
	// header, inconsistent sizes, an invalid index or llama2.c header.
	ErrFormat = errors.New("invalid checkpoint format")
	// ErrMissingTensor is matched when a requested tensor does not exist.
	ErrMissingTensor = errors.New("missing tensor")
	// ErrDType is matched when a tensor's dtype does not support the
	// requested access (for example Float32 on an I64 tensor).
	ErrDType = errors.New("unsupported dtype")
	// ErrTooLarge is matched when a file exceeds a size limit (ReadJSON).
	ErrTooLarge = errors.New("file too large")
	// ErrClosed is matched by reads from a closed File or Folder.
	ErrClosed = errors.New("checkpoint closed")
)

// Error describes a failure on a checkpoint file, optionally about one tensor.
type Error struct {
	File   string // path of the file as given to the opening function; "" for in-memory data
	Tensor string // tensor name, or "" when the error is about the whole file
	Err    error  // the underlying error
}

// Error formats the error as
// `checkpoint: FILE: tensor "NAME": ERR`, leaving out empty parts.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("checkpoint: ")
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if e.Tensor != "" {
		fmt.Fprintf(&b, "tensor %q: ", e.Tensor)
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// formatError is a message about malformed input; it matches ErrFormat.
type formatError string

func (e formatError) Error() string        { return string(e) }
func (e formatError) Is(target error) bool { return target == ErrFormat }

// errorf returns a formatError built like fmt.Sprintf.
func errorf(format string, args ...any) error {
	return formatError(fmt.Sprintf(format, args...))
}

// wrapped matches sentinel while printing its own message.
type wrapped struct {
	msg      string
	sentinel error
}

func (e *wrapped) Error() string        { return e.msg }
func (e *wrapped) Is(target error) bool { return target == e.sentinel }

// sentinelf returns an error printing the formatted message and matching
// sentinel.
func sentinelf(sentinel error, format string, args ...any) error {
	return &wrapped{msg: fmt.Sprintf(format, args...), sentinel: sentinel}
}
