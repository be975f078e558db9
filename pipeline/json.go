package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The JSON face of the pipelines: a call is an object holding the call's
// arguments under Hugging Face's names ("inputs", "question" and
// "context", "candidate_labels", …) and its options, at the top level or
// under "options". Calls with the same options are run together, so that a
// file of one-line calls still fills batches.

// call is one decoded JSON call.
type call[I, O any] struct {
	inputs []I
	opts   O
	key    string // the options, canonical: calls with one key batch together
	single bool   // one input was given, not a list
	err    error
}

// jsonTask describes how a pipeline decodes, runs and shapes JSON calls.
type jsonTask[I, O, R any] struct {
	// args takes the call's arguments out of fields (deleting their keys)
	// and returns the inputs and whether one was given rather than a list.
	args func(fields map[string]json.RawMessage) ([]I, bool, error)
	// run is the pipeline's Run.
	run func(ctx context.Context, inputs []I, opts *O) ([]R, error)
	// shape returns the value of one call's results in Hugging Face's form.
	shape func(outs []R, single bool, opts *O) any
}

// callJSON runs raw calls: decoded one by one, grouped by options, each
// group run at once (and call by call when the group fails, so that a bad
// call fails alone).
func callJSON[I, O, R any](ctx context.Context, t jsonTask[I, O, R], raws []json.RawMessage) []Result {
	calls := make([]call[I, O], len(raws))
	for i, raw := range raws {
		calls[i] = decodeCall(t, raw)
	}
	res := make([]Result, len(raws))
	done := make([]bool, len(raws))
	for i := range calls {
		if done[i] {
			continue
		}
		if calls[i].err != nil {
			res[i], done[i] = Result{Err: calls[i].err}, true
			continue
		}
		var group []int
		for j := i; j < len(calls); j++ {
			if !done[j] && calls[j].err == nil && calls[j].key == calls[i].key {
				group = append(group, j)
			}
		}
		var inputs []I
		for _, j := range group {
			inputs = append(inputs, calls[j].inputs...)
		}
		outs, err := t.run(ctx, inputs, &calls[i].opts)
		if err != nil && len(group) > 1 {
			for _, j := range group { // find the call that failed
				c := &calls[j]
				outs, err := t.run(ctx, c.inputs, &c.opts)
				res[j], done[j] = shaped(t, c, outs, err), true
			}
			continue
		}
		for _, j := range group {
			c := &calls[j]
			var mine []R
			if err == nil {
				mine, outs = outs[:len(c.inputs)], outs[len(c.inputs):]
			}
			res[j], done[j] = shaped(t, c, mine, err), true
		}
	}
	return res
}

func shaped[I, O, R any](t jsonTask[I, O, R], c *call[I, O], outs []R, err error) Result {
	if err != nil {
		return Result{Err: err}
	}
	return Result{Value: t.shape(outs, c.single, &c.opts)}
}

// decodeCall decodes one JSON call: its arguments through t.args, then
// every other key (and those under "options") as the options struct, whose
// unknown fields are errors.
func decodeCall[I, O, R any](t jsonTask[I, O, R], raw json.RawMessage) call[I, O] {
	var c call[I, O]
	fields := map[string]json.RawMessage{}
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		c.err = inputErr("a call is a JSON object (%v)", errOr(err, "null"))
		return c
	}
	if c.inputs, c.single, c.err = t.args(fields); c.err != nil {
		return c
	}
	if nested, ok := fields["options"]; ok {
		delete(fields, "options")
		var more map[string]json.RawMessage
		if err := json.Unmarshal(nested, &more); err != nil {
			c.err = inputErr(`"options" must be an object (%v)`, err)
			return c
		}
		for k, v := range more {
			if _, dup := fields[k]; dup {
				c.err = inputErr("option %q given twice", k)
				return c
			}
			fields[k] = v
		}
	}
	for k, v := range fields {
		if string(v) == "null" {
			delete(fields, k) // null is "not given", as None in Python
		}
	}
	opts, _ := json.Marshal(fields) // sorted keys: a canonical form
	c.key = string(opts)
	dec := json.NewDecoder(bytes.NewReader(opts))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c.opts); err != nil {
		c.err = inputErr("options: %v", cleanJSONError(err))
	}
	return c
}

func errOr(err error, s string) string {
	if err != nil {
		return err.Error()
	}
	return s
}

// cleanJSONError words encoding/json's errors for a user.
func cleanJSONError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("%s is %s, want %s", te.Field, te.Value, te.Type)
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if f, ok := strings.CutPrefix(msg, "unknown field "); ok {
		return fmt.Errorf("unknown option %s", f)
	}
	return errors.New(msg)
}

// take removes key from fields and returns its value (nil if absent).
func take(fields map[string]json.RawMessage, keys ...string) json.RawMessage {
	for _, k := range keys {
		if v, ok := fields[k]; ok {
			delete(fields, k)
			return v
		}
	}
	return nil
}

// stringsArg decodes an argument that is a string or a list of strings.
func stringsArg(name string, raw json.RawMessage) ([]string, bool, error) {
	if raw == nil {
		return nil, false, inputErr("the call has no %q", name)
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}, true, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, false, inputErr("%q must be a string or a list of strings", name)
	}
	if len(list) == 0 {
		return nil, false, inputErr("%q is an empty list", name)
	}
	return list, false, nil
}

// objectsArg decodes an argument that is one object of type T or a list of
// them; fromString, when not nil, also accepts a string (or a list mixing
// strings and objects).
func objectsArg[T any](name string, raw json.RawMessage, fromString func(string) T) ([]T, bool, error) {
	if raw == nil {
		return nil, false, inputErr("the call has no %q", name)
	}
	one := func(r json.RawMessage) (T, error) {
		var v T
		var s string
		if fromString != nil && json.Unmarshal(r, &s) == nil {
			return fromString(s), nil
		}
		dec := json.NewDecoder(bytes.NewReader(r))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil {
			return v, inputErr("%q: %v", name, cleanJSONError(err))
		}
		return v, nil
	}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, false, inputErr("%q: %v", name, cleanJSONError(err))
		}
		if len(items) == 0 {
			return nil, false, inputErr("%q is an empty list", name)
		}
		out := make([]T, len(items))
		for i, it := range items {
			v, err := one(it)
			if err != nil {
				return nil, false, err
			}
			out[i] = v
		}
		return out, false, nil
	}
	v, err := one(raw)
	if err != nil {
		return nil, false, err
	}
	return []T{v}, true, nil
}

// noMoreArgs is the args check of a pipeline whose only argument is
// "inputs" (or Hugging Face's other spellings of it).
func textArgs(fields map[string]json.RawMessage) ([]string, bool, error) {
	return stringsArg("inputs", take(fields, "inputs", "text_inputs", "sequences"))
}

// one returns the single value or the list, as Hugging Face returns a call
// with one input or with a list.
func one[R any](outs []R, single bool) any {
	if single && len(outs) == 1 {
		return outs[0]
	}
	return outs
}

// sortedKeys lists a map's keys in order (for stable messages).
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
