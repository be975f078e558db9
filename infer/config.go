package infer

import (
	"fmt"

	"github.com/glossa-ai/glossa/checkpoint"
)

// Family names a model package's checkpoints: its error prefix, the
// model_type its config.json carries and the prefix of its architecture
// classes.
type Family struct {
	Package   string // error prefix: "gpt2"
	ModelType string // config.json model_type: "gpt2"
	Class     string // architecture class prefix: "GPT2"
}

// Config is a model package's configuration: decoded from config.json
// under the checkpoint's own field names, then validated, which fills in
// its defaults.
type Config[C any] interface {
	*C
	Validate() error
}

// ParseConfig decodes the config.json document data of family f into a C,
// checks that its model_type and architectures are f's, and validates it.
func ParseConfig[C any, P Config[C]](f Family, data []byte) (C, error) {
	var c C
	h, err := checkpoint.DecodeConfig(data, &c)
	return finishConfig[C, P](f, c, h, err)
}

// ReadConfig is ParseConfig of the file at path, or of the config.json in
// the folder path, bounded (checkpoint.MaxConfigSize) and named in errors.
func ReadConfig[C any, P Config[C]](f Family, path string) (C, error) {
	var c C
	h, err := checkpoint.ReadConfig(path, &c)
	return finishConfig[C, P](f, c, h, err)
}

// OpenFolder reads the config of model folder dir (ReadConfig) and opens
// its weights (checkpoint.OpenFolder), which the caller closes.
func OpenFolder[C any, P Config[C]](f Family, dir string) (C, *checkpoint.Folder, error) {
	c, err := ReadConfig[C, P](f, dir)
	if err != nil {
		return c, nil, err
	}
	src, err := checkpoint.OpenFolder(dir)
	if err != nil {
		return c, nil, fmt.Errorf("%s: %w", f.Package, err)
	}
	return c, src, nil
}

func finishConfig[C any, P Config[C]](f Family, c C, h checkpoint.ConfigHeader, err error) (C, error) {
	if err == nil {
		err = h.Check(f.ModelType, f.Class)
	}
	if err != nil {
		return c, fmt.Errorf("%s: config: %w", f.Package, err)
	}
	return c, P(&c).Validate()
}
