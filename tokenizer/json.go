package tokenizer

import (
	"encoding/json"
	"fmt"
)

// FromJSON builds a Tokenizer from a Hugging Face tokenizer.json around
// model, which the caller has built from the same file's "model",
// "normalizer", "pre_tokenizer" and "decoder" sections (package
// tokenizer/auto does both). This function reads "added_tokens",
// "post_processor" (TemplateProcessing, BertProcessing, RobertaProcessing;
// ByteLevel is accepted and adds nothing), "truncation" and "padding".
func FromJSON(data []byte, model Model) (*Tokenizer, error) {
	var f struct {
		AddedTokens []struct {
			ID         *int   `json:"id"`
			Content    string `json:"content"`
			SingleWord bool   `json:"single_word"`
			LStrip     bool   `json:"lstrip"`
			RStrip     bool   `json:"rstrip"`
			Special    bool   `json:"special"`
		} `json:"added_tokens"`
		PostProcessor json.RawMessage `json:"post_processor"`
		Truncation    *struct {
			Direction string `json:"direction"`
			MaxLength int    `json:"max_length"`
			Strategy  string `json:"strategy"`
			Stride    int    `json:"stride"`
		} `json:"truncation"`
		Padding *struct {
			Strategy        json.RawMessage `json:"strategy"`
			Direction       string          `json:"direction"`
			PadToMultipleOf *int            `json:"pad_to_multiple_of"`
			PadID           int             `json:"pad_id"`
			PadTypeID       int             `json:"pad_type_id"`
			PadToken        string          `json:"pad_token"`
		} `json:"padding"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("tokenizer: tokenizer.json: %w", err)
	}
	var cfg Config
	for i, a := range f.AddedTokens {
		if a.ID == nil || *a.ID < 0 {
			return nil, fmt.Errorf("tokenizer: tokenizer.json: added_tokens[%d] (%q): missing or negative id", i, a.Content)
		}
		if a.Content == "" {
			return nil, fmt.Errorf("tokenizer: tokenizer.json: added_tokens[%d]: empty content", i)
		}
		cfg.AddedTokens = append(cfg.AddedTokens, AddedToken{
			Content: a.Content, ID: *a.ID, Special: a.Special,
			SingleWord: a.SingleWord, LStrip: a.LStrip, RStrip: a.RStrip,
		})
	}
	tmpl, err := parsePostProcessor(f.PostProcessor)
	if err != nil {
		return nil, err
	}
	cfg.Template = tmpl
	if tr := f.Truncation; tr != nil {
		cfg.Options.Truncation.MaxLength = tr.MaxLength
		cfg.Options.Truncation.Stride = tr.Stride
		switch tr.Strategy {
		case "", "LongestFirst":
		case "OnlyFirst":
			cfg.Options.Truncation.Strategy = OnlyFirst
		case "OnlySecond":
			cfg.Options.Truncation.Strategy = OnlySecond
		default:
			return nil, fmt.Errorf("tokenizer: tokenizer.json: unknown truncation strategy %q", tr.Strategy)
		}
		if cfg.Options.Truncation.Side, err = parseSide(tr.Direction); err != nil {
			return nil, err
		}
	}
	if p := f.Padding; p != nil {
		pad := &cfg.Options.Padding
		pad.ID, pad.TypeID, pad.Token = p.PadID, p.PadTypeID, p.PadToken
		if p.PadToMultipleOf != nil {
			pad.MultipleOf = *p.PadToMultipleOf
		}
		if pad.Side, err = parseSide(p.Direction); err != nil {
			return nil, err
		}
		var name string
		var fixed struct {
			Fixed *int `json:"Fixed"`
		}
		switch {
		case json.Unmarshal(p.Strategy, &name) == nil && name == "BatchLongest":
			pad.Strategy = PadLongest
		case json.Unmarshal(p.Strategy, &fixed) == nil && fixed.Fixed != nil:
			pad.Strategy, pad.Length = PadFixed, *fixed.Fixed
		default:
			return nil, fmt.Errorf("tokenizer: tokenizer.json: unknown padding strategy %s", p.Strategy)
		}
	}
	return New(model, cfg)
}

func parseSide(s string) (Side, error) {
	switch s {
	case "", "Right":
		return Right, nil
	case "Left":
		return Left, nil
	}
	return Right, fmt.Errorf("tokenizer: tokenizer.json: unknown direction %q", s)
}

// parsePostProcessor turns a tokenizer.json post_processor into a Template.
func parsePostProcessor(raw json.RawMessage) (*Template, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var p struct {
		Type          string            `json:"type"`
		Single        []json.RawMessage `json:"single"`
		Pair          []json.RawMessage `json:"pair"`
		SpecialTokens map[string]struct {
			IDs    []int    `json:"ids"`
			Tokens []string `json:"tokens"`
		} `json:"special_tokens"`
		Sep        []json.RawMessage `json:"sep"`
		CLS        []json.RawMessage `json:"cls"`
		Processors []json.RawMessage `json:"processors"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("tokenizer: tokenizer.json: post_processor: %w", err)
	}
	switch p.Type {
	case "ByteLevel":
		return nil, nil
	case "Sequence":
		var found *Template
		for _, q := range p.Processors {
			t, err := parsePostProcessor(q)
			if err != nil {
				return nil, err
			}
			if t != nil {
				if found != nil {
					return nil, fmt.Errorf("tokenizer: tokenizer.json: post_processor: more than one template in a Sequence")
				}
				found = t
			}
		}
		return found, nil
	case "BertProcessing", "RobertaProcessing":
		cls, clsID, err := tokenPair(p.CLS)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: tokenizer.json: post_processor cls: %w", err)
		}
		sep, sepID, err := tokenPair(p.Sep)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: tokenizer.json: post_processor sep: %w", err)
		}
		if p.Type == "BertProcessing" {
			return BERTTemplate(cls, clsID, sep, sepID), nil
		}
		return RoBERTaTemplate(cls, clsID, sep, sepID), nil
	case "TemplateProcessing":
		var t Template
		var err error
		lookup := func(name string) ([]int, []string, error) {
			s, ok := p.SpecialTokens[name]
			if !ok {
				return nil, nil, fmt.Errorf("special token %q not in special_tokens", name)
			}
			if len(s.IDs) != len(s.Tokens) || len(s.IDs) == 0 {
				return nil, nil, fmt.Errorf("special token %q: %d ids for %d tokens", name, len(s.IDs), len(s.Tokens))
			}
			return s.IDs, s.Tokens, nil
		}
		if t.Single, err = parseTemplatePieces(p.Single, lookup); err != nil {
			return nil, fmt.Errorf("tokenizer: tokenizer.json: post_processor single: %w", err)
		}
		if t.Pair, err = parseTemplatePieces(p.Pair, lookup); err != nil {
			return nil, fmt.Errorf("tokenizer: tokenizer.json: post_processor pair: %w", err)
		}
		return &t, nil
	}
	return nil, fmt.Errorf("tokenizer: tokenizer.json: unsupported post_processor type %q", p.Type)
}

// tokenPair parses BertProcessing's ["[SEP]", 102].
func tokenPair(raw []json.RawMessage) (string, int, error) {
	if len(raw) != 2 {
		return "", 0, fmt.Errorf("want [token, id], got %d elements", len(raw))
	}
	var s string
	var id int
	if err := json.Unmarshal(raw[0], &s); err != nil {
		return "", 0, err
	}
	if err := json.Unmarshal(raw[1], &id); err != nil {
		return "", 0, err
	}
	if s == "" || id < 0 {
		return "", 0, fmt.Errorf("empty token or negative id")
	}
	return s, id, nil
}

func parseTemplatePieces(raw []json.RawMessage, lookup func(string) ([]int, []string, error)) ([]Piece, error) {
	var out []Piece
	for _, r := range raw {
		var p struct {
			SpecialToken *struct {
				ID     string `json:"id"`
				TypeID int    `json:"type_id"`
			} `json:"SpecialToken"`
			Sequence *struct {
				ID     string `json:"id"`
				TypeID int    `json:"type_id"`
			} `json:"Sequence"`
		}
		if err := json.Unmarshal(r, &p); err != nil {
			return nil, err
		}
		switch {
		case p.Sequence != nil:
			seq := 0
			switch p.Sequence.ID {
			case "A":
			case "B":
				seq = 1
			default:
				return nil, fmt.Errorf("sequence id %q, want A or B", p.Sequence.ID)
			}
			out = append(out, Sequence(seq, p.Sequence.TypeID))
		case p.SpecialToken != nil:
			ids, toks, err := lookup(p.SpecialToken.ID)
			if err != nil {
				return nil, err
			}
			for i := range ids {
				if toks[i] == "" || ids[i] < 0 {
					return nil, fmt.Errorf("special token %q: empty token or negative id", p.SpecialToken.ID)
				}
				out = append(out, Special(toks[i], ids[i], p.SpecialToken.TypeID))
			}
		default:
			return nil, fmt.Errorf("template piece %s is neither SpecialToken nor Sequence", r)
		}
	}
	return out, nil
}
