package seq2seq

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/glossa-ai/glossa/checkpoint"
	"github.com/glossa-ai/glossa/generate"
)

// EarlyStopping is generation_config.json's early_stopping: true, false or
// "never".
type EarlyStopping int

// The values of early_stopping.
const (
	EarlyStoppingFalse EarlyStopping = iota // HF's default heuristic
	EarlyStoppingTrue                       // stop once num_beams hypotheses are finished
	EarlyStoppingNever                      // canonical beam search
)

// UnmarshalJSON accepts true, false and "never".
func (e *EarlyStopping) UnmarshalJSON(data []byte) error {
	switch string(data) {
	case "true":
		*e = EarlyStoppingTrue
	case "false", "null":
		*e = EarlyStoppingFalse
	case `"never"`:
		*e = EarlyStoppingNever
	default:
		return fmt.Errorf("early_stopping %s: want true, false or \"never\"", data)
	}
	return nil
}

// GenerationConfig holds the decoding defaults of a model folder, with the
// names of generation_config.json (which config.json files of the hub also
// carry). A nil field is not set in either file; Options applies HF's
// GenerationConfig defaults to those.
type GenerationConfig struct {
	MaxLength          *int           `json:"max_length"`     // decoder length, start token included (HF default 20)
	MaxNewTokens       *int           `json:"max_new_tokens"` // overrides MaxLength
	MinLength          *int           `json:"min_length"`
	MinNewTokens       *int           `json:"min_new_tokens"`
	DoSample           *bool          `json:"do_sample"`
	NumBeams           *int           `json:"num_beams"`
	NumReturnSequences *int           `json:"num_return_sequences"`
	Temperature        *float64       `json:"temperature"`
	TopK               *int           `json:"top_k"`
	TopP               *float64       `json:"top_p"`
	RepetitionPenalty  *float64       `json:"repetition_penalty"`
	LengthPenalty      *float64       `json:"length_penalty"`
	EarlyStopping      *EarlyStopping `json:"early_stopping"`
	NoRepeatNGramSize  *int           `json:"no_repeat_ngram_size"`
	BadWordsIDs        [][]int        `json:"bad_words_ids"`
	ForcedBOSTokenID   *int           `json:"forced_bos_token_id"`
	ForcedEOSTokenID   TokenIDs       `json:"forced_eos_token_id"`
	RenormalizeLogits  *bool          `json:"renormalize_logits"`
	SpecialTokens
}

// merge fills the fields g does not set from o (config.json's values under
// generation_config.json's).
func (g *GenerationConfig) merge(o GenerationConfig) {
	pick(&g.MaxLength, o.MaxLength)
	pick(&g.MaxNewTokens, o.MaxNewTokens)
	pick(&g.MinLength, o.MinLength)
	pick(&g.MinNewTokens, o.MinNewTokens)
	pick(&g.DoSample, o.DoSample)
	pick(&g.NumBeams, o.NumBeams)
	pick(&g.NumReturnSequences, o.NumReturnSequences)
	pick(&g.Temperature, o.Temperature)
	pick(&g.TopK, o.TopK)
	pick(&g.TopP, o.TopP)
	pick(&g.RepetitionPenalty, o.RepetitionPenalty)
	pick(&g.LengthPenalty, o.LengthPenalty)
	pick(&g.EarlyStopping, o.EarlyStopping)
	pick(&g.NoRepeatNGramSize, o.NoRepeatNGramSize)
	pick(&g.ForcedBOSTokenID, o.ForcedBOSTokenID)
	pick(&g.RenormalizeLogits, o.RenormalizeLogits)
	pick(&g.PadTokenID, o.PadTokenID)
	pick(&g.BOSTokenID, o.BOSTokenID)
	pick(&g.DecoderStartTokenID, o.DecoderStartTokenID)
	if g.BadWordsIDs == nil {
		g.BadWordsIDs = o.BadWordsIDs
	}
	if g.ForcedEOSTokenID == nil {
		g.ForcedEOSTokenID = o.ForcedEOSTokenID
	}
	if g.EOSTokenID == nil {
		g.EOSTokenID = o.EOSTokenID
	}
}

// pick sets *dst to src when it is unset.
func pick[T any](dst **T, src *T) {
	if *dst == nil {
		*dst = src
	}
}

// check validates the token ids and sizes of g for a vocabulary of V ids.
func (g *GenerationConfig) check(V int) error {
	if err := g.SpecialTokens.check(V); err != nil {
		return fmt.Errorf("%w (generation config)", err)
	}
	for _, p := range []*int{g.MaxLength, g.MaxNewTokens, g.MinLength, g.MinNewTokens, g.NumBeams, g.NumReturnSequences, g.TopK, g.NoRepeatNGramSize} {
		if p != nil && (*p < 0 || *p > maxDim) {
			return fmt.Errorf("seq2seq: generation config: a length or count of %d", *p)
		}
	}
	ids := append([]int(nil), g.ForcedEOSTokenID...)
	if g.ForcedBOSTokenID != nil {
		ids = append(ids, *g.ForcedBOSTokenID)
	}
	for _, w := range g.BadWordsIDs {
		ids = append(ids, w...)
	}
	for _, id := range ids {
		if id < 0 || id >= V {
			return fmt.Errorf("seq2seq: generation config: token id %d outside the vocabulary of %d", id, V)
		}
	}
	return nil
}

// readGenerationConfig reads dir/generation_config.json; a missing file is
// an empty config.
func readGenerationConfig(dir string) (GenerationConfig, error) {
	var g GenerationConfig
	path := filepath.Join(dir, "generation_config.json")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return g, nil
	}
	if err := checkpoint.ReadJSON(path, &g, checkpoint.MaxConfigSize); err != nil {
		return g, fmt.Errorf("seq2seq: %w", err)
	}
	return g, nil
}

// parseGenerationKeys decodes the generation keys a config.json carries.
func parseGenerationKeys(data []byte) (GenerationConfig, error) {
	var g GenerationConfig
	if err := json.Unmarshal(data, &g); err != nil {
		return g, fmt.Errorf("seq2seq: config.json: %w", err)
	}
	return g, nil
}

// Options returns the generate.Options of g for an encoder-decoder whose
// decoder prompt is its start token, with HF's defaults for unset fields
// (max_length 20, length_penalty 1, top_k 50 when sampling, …):
//
//   - max_new_tokens, else max_length − 1 (the start token counts in HF's
//     max_length);
//   - min_length as is (it counts the start token too, in both);
//   - eos_token_id as the stop tokens; forced_eos_token_id's first id;
//   - early_stopping "never" as EarlyStoppingNever;
//   - do_sample with temperature (default 1), top_k (50), top_p (1).
//
// Callers adjust the result (num_beams, max_new_tokens, …) before passing it
// to Model.Generate.
func (g *GenerationConfig) Options() generate.Options {
	o := generate.Options{StopTokens: append([]int(nil), g.EOSTokenID...), LengthPenalty: 1}
	get := func(p *int, def int) int {
		if p != nil {
			return *p
		}
		return def
	}
	o.MaxNewTokens = get(g.MaxLength, 20) - 1
	if g.MaxNewTokens != nil {
		o.MaxNewTokens = *g.MaxNewTokens
	}
	o.MaxNewTokens = max(o.MaxNewTokens, 1)
	o.MinLength = get(g.MinLength, 0)
	o.MinNewTokens = get(g.MinNewTokens, 0)
	o.NumBeams = get(g.NumBeams, 1)
	o.NumReturnSequences = get(g.NumReturnSequences, 1)
	o.NoRepeatNGramSize = get(g.NoRepeatNGramSize, 0)
	if g.LengthPenalty != nil {
		o.LengthPenalty = *g.LengthPenalty
		if o.LengthPenalty == 0 {
			// generate reads 0 as 1; len^(smallest float) is exactly 1, HF's
			// len^0.
			o.LengthPenalty = math.SmallestNonzeroFloat64
		}
	}
	if g.EarlyStopping != nil {
		o.EarlyStopping = *g.EarlyStopping == EarlyStoppingTrue
		o.EarlyStoppingNever = *g.EarlyStopping == EarlyStoppingNever
	}
	for _, w := range g.BadWordsIDs {
		o.BadWordsIDs = append(o.BadWordsIDs, append([]int(nil), w...))
	}
	if g.ForcedBOSTokenID != nil {
		o.ForcedBOSTokenID = intp(*g.ForcedBOSTokenID)
	}
	if len(g.ForcedEOSTokenID) > 0 {
		o.ForcedEOSTokenID = intp(g.ForcedEOSTokenID[0])
	}
	o.RenormalizeLogits = g.RenormalizeLogits != nil && *g.RenormalizeLogits
	if g.RepetitionPenalty != nil {
		o.RepetitionPenalty = *g.RepetitionPenalty
	}
	if g.DoSample != nil && *g.DoSample {
		o.Temperature = 1
		if g.Temperature != nil && *g.Temperature > 0 {
			o.Temperature = *g.Temperature
		}
		o.TopK = get(g.TopK, 50)
		if g.TopP != nil {
			o.TopP = *g.TopP
		}
	}
	return o
}
