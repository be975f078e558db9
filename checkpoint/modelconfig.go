package checkpoint

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ConfigFile is the name of a Hugging Face model folder's configuration.
const ConfigFile = "config.json"

// MaxConfigSize bounds the config.json that ReadConfig accepts. Real ones
// are a few kilobytes; the largest (with big id2label maps) stay far below.
const MaxConfigSize = 4 << 20

// ConfigHeader holds the identifying fields every Hugging Face config.json
// carries, which say which architecture the rest of the file describes.
type ConfigHeader struct {
	ModelType     string   `json:"model_type"`    // "gpt2", "llama", "bert", …
	Architectures []string `json:"architectures"` // e.g. ["LlamaForCausalLM"]
}

// Check reports whether the header can describe a model of the given
// model_type, whose architecture class names start with archPrefix (for
// example "llama" and "Llama"). A set ModelType must equal modelType; when
// ModelType is absent, a non-empty Architectures list must name at least one
// class starting with archPrefix. A header with neither (a hand-written or
// test configuration) is accepted. Errors match ErrFormat.
func (h ConfigHeader) Check(modelType, archPrefix string) error {
	if h.ModelType != "" {
		if h.ModelType != modelType {
			return errorf("model_type %q is not %s", h.ModelType, modelType)
		}
		return nil
	}
	if len(h.Architectures) == 0 {
		return nil
	}
	for _, a := range h.Architectures {
		if strings.HasPrefix(a, archPrefix) {
			return nil
		}
	}
	return errorf("architectures %q are not %s models", h.Architectures, modelType)
}

// DecodeConfig decodes a config.json document into v (a model package's
// configuration struct, whose fields already hold the defaults that zero
// cannot express) and returns its header. Errors match ErrFormat and give
// the line and column, as DecodeJSON's.
func DecodeConfig(data []byte, v any) (ConfigHeader, error) {
	var h ConfigHeader
	if err := DecodeJSON(data, v); err != nil {
		return ConfigHeader{}, err
	}
	if err := DecodeJSON(data, &h); err != nil {
		return ConfigHeader{}, err
	}
	return h, nil
}

// ReadConfig reads a model's config.json into v and returns its header, as
// DecodeConfig. path is either a model folder, in which case its ConfigFile
// is read, or the configuration file itself. The file may hold at most
// MaxConfigSize bytes; errors are *Error values naming the file:
//
//	checkpoint: gpt2/config.json: line 4, column 2: invalid character '}' looking for beginning of object key string
func ReadConfig(path string, v any) (ConfigHeader, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, ConfigFile)
	}
	data, err := readBounded(path, MaxConfigSize)
	if err != nil {
		return ConfigHeader{}, err
	}
	h, err := DecodeConfig(data, v)
	if err != nil {
		return ConfigHeader{}, &Error{File: path, Err: err}
	}
	return h, nil
}

// TokenIDs is a token id or a list of them, as config.json files write
// eos_token_id and forced_eos_token_id; JSON null or absence is empty.
type TokenIDs []int

// UnmarshalJSON accepts a number, a list of numbers or null.
func (t *TokenIDs) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*t = nil
		return nil
	}
	var one int
	if err := json.Unmarshal(data, &one); err == nil {
		*t = TokenIDs{one}
		return nil
	}
	var list []int
	if err := json.Unmarshal(data, &list); err != nil {
		return fmt.Errorf("want a token id or a list of them: %w", err)
	}
	*t = list
	return nil
}
