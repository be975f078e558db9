// Package auto loads a model without being told its architecture, as
// Hugging Face's AutoModel classes do: it reads the model_type and
// architectures of a folder's config.json (or recognises a llama2.c
// checkpoint file) and dispatches to the package of that family.
//
// LoadCausalLM returns a *CausalLM: a generate.LM whose per-session state type
// is hidden behind the State interface, so that a command line or a server
// can drive any supported decoder through one code path, together with what
// decoding needs besides the weights — BOS and EOS ids and where the
// tokenizer lives.
//
// Supported causal LMs: Llama (Hugging Face folders, model_type "llama"),
// GPT-2, llama2.c's legacy run.c .bin files and llama.cpp GGUF files.
// LoadSeq2Seq loads the encoder-decoders (Marian, BART, T5) of package
// seq2seq.
//
// LoadEncoder returns a bidirectional encoder — BERT, DistilBERT, RoBERTa,
// XLM-RoBERTa or ELECTRA, all run by package bert's Encoder — with the heads its
// checkpoint holds (masked LM, sequence or token classification, question
// answering), the class taken from config.json's architectures.
package auto

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Family is a model architecture family, parsed once from config.json.
type Family int

// Families auto knows.
const (
	Unknown    Family = iota
	Llama             // Hugging Face LlamaForCausalLM folders
	Llama2C           // llama2.c's run.c checkpoint files
	GPT2              // Hugging Face GPT2LMHeadModel folders
	BERT              // Hugging Face BertFor* folders
	GGUF              // llama.cpp GGUF files (architecture llama)
	Marian            // Hugging Face MarianMTModel folders (encoder-decoder)
	BART              // Hugging Face BartForConditionalGeneration folders (encoder-decoder)
	T5                // Hugging Face T5ForConditionalGeneration folders (encoder-decoder)
	DistilBERT        // DistilBertFor* folders
	RoBERTa           // RobertaFor* (and CamembertFor*) folders
	XLMRoBERTa        // XLMRobertaFor* folders
	ELECTRA           // ElectraFor* folders (ElectraModel, ElectraForPreTraining, …)
)

var familyNames = [...]string{Unknown: "unknown", Llama: "llama", Llama2C: "llama2.c", GPT2: "gpt2", BERT: "bert", GGUF: "gguf",
	Marian: "marian", BART: "bart", T5: "t5", DistilBERT: "distilbert", RoBERTa: "roberta", XLMRoBERTa: "xlm-roberta", ELECTRA: "electra"}

// String returns the family's model_type spelling ("llama2.c" for Llama2C).
func (f Family) String() string {
	if f < 0 || int(f) >= len(familyNames) {
		return fmt.Sprintf("Family(%d)", int(f))
	}
	return familyNames[f]
}

// Config is the part of a Hugging Face config.json that identifies the
// architecture.
type Config struct {
	ModelType     string   `json:"model_type"`    // "llama", "gpt2", "bert", …
	Architectures []string `json:"architectures"` // e.g. ["LlamaForCausalLM"]
}

// classPrefixes start the architecture class names of each family.
var classPrefixes = []struct {
	prefix string
	family Family
}{{"Llama", Llama}, {"GPT2", GPT2}, {"Bert", BERT}, {"Marian", Marian}, {"Bart", BART}, {"T5", T5},
	{"DistilBert", DistilBERT}, {"Roberta", RoBERTa}, {"Camembert", RoBERTa}, {"XLMRoberta", XLMRoBERTa},
	{"Electra", ELECTRA}}

// Family reports the family the config names: model_type when present, else
// the prefix of the first recognised architecture class. It is Unknown when
// neither names a family auto knows.
func (c Config) Family() Family {
	if t := strings.ToLower(c.ModelType); t != "" {
		if t == "camembert" {
			return RoBERTa
		}
		for f, name := range familyNames {
			if name == t && Family(f) != Llama2C && Family(f) != GGUF {
				return Family(f)
			}
		}
		return Unknown
	}
	for _, a := range c.Architectures {
		for _, p := range classPrefixes {
			if strings.HasPrefix(a, p.prefix) {
				return p.family
			}
		}
	}
	return Unknown
}

// name is how errors refer to the config's architecture.
func (c Config) name() string {
	switch {
	case c.ModelType != "" && len(c.Architectures) > 0:
		return fmt.Sprintf("model_type %q (%s)", c.ModelType, strings.Join(c.Architectures, ", "))
	case c.ModelType != "":
		return fmt.Sprintf("model_type %q", c.ModelType)
	case len(c.Architectures) > 0:
		return fmt.Sprintf("architectures %q", c.Architectures)
	}
	return "a config.json naming neither model_type nor architectures"
}

// ParseConfig decodes the identifying fields of a config.json.
func ParseConfig(data []byte) (Config, error) {
	var c Config
	if err := json.Unmarshal(data, &c); err != nil {
		return Config{}, fmt.Errorf("auto: config.json: %w", err)
	}
	return c, nil
}

// SniffConfig reads dir/config.json and returns its identifying fields.
func SniffConfig(dir string) (Config, error) {
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return Config{}, fmt.Errorf("auto: %w", err)
	}
	c, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("auto: %s: %w", filepath.Join(dir, "config.json"), errors.Unwrap(err))
	}
	return c, nil
}

// UnsupportedError reports a model whose architecture has no loader for the
// task asked.
type UnsupportedError struct {
	Task      string   // "causal LM"
	Arch      string   // what the checkpoint declares
	Supported []Family // the families that task can load
}

func (e *UnsupportedError) Error() string {
	names := make([]string, len(e.Supported))
	for i, f := range e.Supported {
		names[i] = f.String()
	}
	return fmt.Sprintf("auto: %s is not supported as a %s (supported: %s)", e.Arch, e.Task, strings.Join(names, ", "))
}

// tokenizerFiles are the files tokenizer/auto reads from a model folder.
var tokenizerFiles = []string{"tokenizer.json", "vocab.txt", "encoder.json", "vocab.json", "tokenizer.model", "tokenizer.bin", "char_vocab.json"}

// folderTokenizer returns dir when it holds one of the tokenizer files,
// else "".
func folderTokenizer(dir string, files []string) string {
	if slices.ContainsFunc(files, func(n string) bool { return isFile(filepath.Join(dir, n)) }) {
		return dir
	}
	return ""
}

func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}
