package checkpoint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// DefaultMaxJSONSize is the limit ReadJSON applies when maxBytes is zero or
// negative: enough for the largest tokenizer.json files on the Hub.
const DefaultMaxJSONSize = 64 << 20

// ReadJSON decodes the JSON file at path into v, reading at most maxBytes
// (DefaultMaxJSONSize if maxBytes <= 0); a larger file fails with an error
// matching ErrTooLarge before it is read. It is meant for the small
// configuration files of a model folder (config.json,
// generation_config.json, tokenizer_config.json). Unknown fields are
// ignored; syntax errors report line and column:
//
//	checkpoint: llama/config.json: line 3, column 14: invalid character '}' looking for beginning of value
func ReadJSON(path string, v any, maxBytes int64) error {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxJSONSize
	}
	data, err := readBounded(path, maxBytes)
	if err != nil {
		return err
	}
	if err := DecodeJSON(data, v); err != nil {
		return &Error{File: path, Err: err}
	}
	return nil
}

// DecodeJSON decodes one JSON value from data into v, rejecting trailing
// data. Syntax and type errors match ErrFormat and name the line and column.
func DecodeJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return jsonPosError(data, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errorf("%s: trailing data after the JSON value", position(data, dec.InputOffset()))
	}
	return nil
}

// jsonPosError converts a decoding error into a format error with position.
func jsonPosError(data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		// Offset counts the offending byte itself.
		return errorf("%s: %v", position(data, se.Offset-1), se)
	case errors.As(err, &te):
		if te.Field == "" {
			return errorf("%s: got JSON %s, want %s", position(data, te.Offset), te.Value, describeType(te.Type))
		}
		return errorf("%s: %s: got JSON %s, want %s", position(data, te.Offset), te.Field, te.Value, describeType(te.Type))
	case err == io.EOF:
		return errorf("empty JSON input")
	case err == io.ErrUnexpectedEOF:
		return errorf("%s: unexpected end of JSON input", position(data, int64(len(data))))
	}
	return errorf("%v", err)
}

// position formats a byte offset of data as "line L, column C" (1-based).
func position(data []byte, off int64) string {
	off = min(max(off, 0), int64(len(data)))
	line := 1 + bytes.Count(data[:off], []byte{'\n'})
	col := off - int64(bytes.LastIndexByte(data[:off], '\n'))
	return fmt.Sprintf("line %d, column %d", line, col)
}

// readBounded reads the file at path if it holds at most max bytes.
func readBounded(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	defer f.Close()
	tooLarge := func(size string) error {
		return &Error{File: path, Err: sentinelf(ErrTooLarge, "%s exceeds the limit of %d bytes", size, max)}
	}
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > max {
		return nil, tooLarge(fmt.Sprintf("size %d", st.Size()))
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, &Error{File: path, Err: err}
	}
	if int64(len(data)) > max {
		return nil, tooLarge("content")
	}
	return data, nil
}
