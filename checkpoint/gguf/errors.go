package gguf

import (
	"errors"
	"fmt"
	"strings"

	"github.com/glossa-ai/glossa/checkpoint"
)

// ErrMissingKey is matched (errors.Is) when a metadata key that a helper
// such as LlamaParams or Tokenizer requires is absent.
var ErrMissingKey = errors.New("missing metadata key")

// Error describes a failure on a GGUF file, optionally about one tensor or
// one metadata key. Malformed input matches checkpoint.ErrFormat with
// errors.Is, an absent tensor checkpoint.ErrMissingTensor, a tensor type that
// cannot be converted as asked checkpoint.ErrDType, a read after Close
// checkpoint.ErrClosed, and an absent required key ErrMissingKey.
type Error struct {
	File   string // path as given to Open; "" for Parse
	Tensor string // tensor name, or ""
	Key    string // metadata key, or ""
	Err    error  // the underlying error
}

// Error formats the error as `gguf: FILE: tensor "NAME": key "KEY": ERR`,
// leaving out empty parts.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("gguf: ")
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if e.Tensor != "" {
		fmt.Fprintf(&b, "tensor %q: ", e.Tensor)
	}
	if e.Key != "" {
		fmt.Fprintf(&b, "key %q: ", e.Key)
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// sentinelError prints its message and matches one sentinel.
type sentinelError struct {
	msg      string
	sentinel error
}

func (e *sentinelError) Error() string        { return e.msg }
func (e *sentinelError) Is(target error) bool { return target == e.sentinel }

// formatf returns an error about malformed input, matching
// checkpoint.ErrFormat.
func formatf(format string, args ...any) error {
	return &sentinelError{msg: fmt.Sprintf(format, args...), sentinel: checkpoint.ErrFormat}
}

// sentinelf returns an error printing the formatted message and matching
// sentinel.
func sentinelf(sentinel error, format string, args ...any) error {
	return &sentinelError{msg: fmt.Sprintf(format, args...), sentinel: sentinel}
}
