package seq2seq

import (
	"fmt"
	"path/filepath"

	"github.com/glossa-ai/glossa/checkpoint"
	"github.com/glossa-ai/glossa/infer"
)

// Options configure loading. The zero value keeps float32 weights.
type Options struct {
	// Format stores the weight matrices and embeddings in float32 (packed)
	// or bfloat16.
	Format infer.Format
}

// Load reads a Hugging Face model folder: config.json (model_type marian,
// bart or t5), generation_config.json when present, and model.safetensors
// or its shards. F16 and BF16 weights are widened (or kept, with bfloat16).
// opts may be nil. The files are closed before Load returns.
func Load(dir string, opts *Options) (*Model, error) {
	path := filepath.Join(dir, checkpoint.ConfigFile)
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	gen, err := readGenerationConfig(dir)
	if err != nil {
		return nil, err
	}
	m, err := parseModel(data, gen, path)
	if err != nil {
		return nil, err
	}
	ck, err := checkpoint.OpenFolder(dir)
	if err != nil {
		return nil, fmt.Errorf("seq2seq: %w", err)
	}
	defer ck.Close()
	return m, m.build(ck, dir, opts, nil)
}

// New returns a model of the given config.json content with random weights
// (normal, standard deviation 0.02, norm gains 1, biases 0, seeded; Marian's
// positions sinusoidal as always), for benchmarks and tests of a shape.
// opts may be nil.
func New(configJSON []byte, seed uint64, opts *Options) (*Model, error) {
	m, err := parseModel(configJSON, GenerationConfig{}, "config.json")
	if err != nil {
		return nil, err
	}
	return m, m.build(nil, "", opts, infer.HFInit(seed))
}

func readFile(path string) ([]byte, error) {
	var raw rawJSON
	if err := checkpoint.ReadJSON(path, &raw, checkpoint.MaxConfigSize); err != nil {
		return nil, fmt.Errorf("seq2seq: %w", err)
	}
	return raw, nil
}

// rawJSON keeps a JSON document as it is (ReadJSON bounds and checks it).
type rawJSON []byte

func (r *rawJSON) UnmarshalJSON(data []byte) error {
	*r = append((*r)[:0], data...)
	return nil
}

// parseModel decodes config.json (named where in errors) into a Model
// without weights, merging its generation keys under gen's and resolving
// the decoder start token.
func parseModel(data []byte, gen GenerationConfig, where string) (*Model, error) {
	var h checkpoint.ConfigHeader
	if err := checkpoint.DecodeJSON(data, &h); err != nil {
		return nil, fmt.Errorf("seq2seq: %s: %w", where, err)
	}
	f, err := ParseFamily(h)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, where)
	}
	m := &Model{Family: f}
	var tokens SpecialTokens
	switch f {
	case Marian, BART:
		c := defaultBart(f)
		if err := checkpoint.DecodeJSON(data, &c); err != nil {
			return nil, fmt.Errorf("seq2seq: %s: %w", where, err)
		}
		c.ModelType = f.String()
		if err := c.Validate(); err != nil {
			return nil, err
		}
		m.Bart, tokens = &c, c.SpecialTokens
		m.d = dims{C: c.DModel, V: c.VocabSize, H: c.DecoderHeads, D: c.DModel / c.DecoderHeads, DecLayers: c.DecoderLayers,
			MaxSource: c.MaxPositions, MaxTarget: c.MaxPositions}
	case T5:
		c := defaultT5()
		if err := checkpoint.DecodeJSON(data, &c); err != nil {
			return nil, fmt.Errorf("seq2seq: %s: %w", where, err)
		}
		if err := c.Validate(); err != nil {
			return nil, err
		}
		m.T5, tokens = &c, c.SpecialTokens
		m.d = dims{C: c.DModel, V: c.VocabSize, H: c.NumHeads, D: c.DKV, DecLayers: c.decoderLayers(), MaxTarget: c.maxTarget()}
	}
	keys, err := parseGenerationKeys(data)
	if err != nil {
		return nil, err
	}
	keys.SpecialTokens = tokens // config.json's ids, class defaults included
	gen.merge(keys)
	if err := gen.check(m.d.V); err != nil {
		return nil, err
	}
	m.Generation = gen
	if m.Tasks, err = parseTaskParams(data, m.d.V); err != nil {
		return nil, err
	}
	start, err := decoderStart(f, &gen, m.d.V)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, where)
	}
	m.DecoderStartTokenID = start
	return m, nil
}

// decoderStart resolves the decoder start token as HF's generate does:
// decoder_start_token_id (generation_config.json, else config.json, else
// the config class's default: BART 2, Marian 58100 when inside the
// vocabulary, T5 none), else bos_token_id, else ErrNoDecoderStart.
func decoderStart(f Family, g *GenerationConfig, V int) (int, error) {
	if g.DecoderStartTokenID != nil {
		return *g.DecoderStartTokenID, nil
	}
	def := map[Family]int{BART: 2, Marian: 58100}
	if id, ok := def[f]; ok && id < V {
		return id, nil
	}
	if g.BOSTokenID != nil {
		return *g.BOSTokenID, nil
	}
	return 0, ErrNoDecoderStart
}

// build loads the weights from r (nil: fresh ones from init).
func (m *Model) build(r checkpoint.Reader, where string, opts *Options, init func(string, []int, []float32)) error {
	if opts == nil {
		opts = &Options{}
	}
	bo := infer.BuilderOptions{Model: "seq2seq", Source: where, Format: opts.Format, Init: init}
	switch m.Family {
	case Marian, BART:
		bo.Aliases = bartAliases
		b := infer.NewBuilder(r, bo)
		n := loadBart(m.Bart, b)
		if err := b.Err(); err != nil {
			return err
		}
		m.net = n
	case T5:
		bo.Aliases = t5Aliases
		b := infer.NewBuilder(r, bo)
		n := loadT5(m.T5, b)
		if err := b.Err(); err != nil {
			return err
		}
		m.net = n
	}
	return nil
}
