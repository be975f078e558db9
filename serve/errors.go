package serve

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Error is an API error, sent as OpenAI's error object
// {"error": {"message", "type", "param", "code"}} with Status.
type Error struct {
	Status  int    // HTTP status
	Message string // for people
	Type    string // invalid_request_error, authentication_error, not_found_error, server_error, …
	Param   string // the request field at fault, if any
	Code    string // a machine-readable code, if any
}

func (e *Error) Error() string {
	if e.Param != "" {
		return fmt.Sprintf("serve: %s (%s): %s", e.Type, e.Param, e.Message)
	}
	return fmt.Sprintf("serve: %s: %s", e.Type, e.Message)
}

// badRequest returns a 400 invalid_request_error naming param.
func badRequest(param, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Param: param, Message: fmt.Sprintf(format, args...)}
}

func notFound(code, format string, args ...any) *Error {
	return &Error{Status: http.StatusNotFound, Type: "not_found_error", Code: code, Message: fmt.Sprintf(format, args...)}
}

func notImplemented(format string, args ...any) *Error {
	return &Error{Status: http.StatusNotImplemented, Type: "not_implemented_error", Code: "not_implemented", Message: fmt.Sprintf(format, args...)}
}

func serverError(format string, args ...any) *Error {
	return &Error{Status: http.StatusInternalServerError, Type: "server_error", Message: fmt.Sprintf(format, args...)}
}

// errorBody is the JSON shape of an Error.
type errorBody struct {
	Error errorObject `json:"error"`
}

type errorObject struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

func (e *Error) body() errorBody {
	b := errorBody{Error: errorObject{Message: e.Message, Type: e.Type}}
	if e.Param != "" {
		b.Error.Param = &e.Param
	}
	if e.Code != "" {
		b.Error.Code = &e.Code
	}
	return b
}

// writeError sends err as an OpenAI error object; an error that is not an
// *Error is a 500.
func writeError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = serverError("%v", err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if e.Status == http.StatusServiceUnavailable && h.Get("Retry-After") == "" {
		h.Set("Retry-After", "1")
	}
	w.WriteHeader(e.Status)
	json.NewEncoder(w).Encode(e.body())
}

// decodeError turns a json.Unmarshal error of a request body into a 400
// that says what is wrong and where.
func decodeError(err error) *Error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var fe *fieldError
	switch {
	case errors.As(err, &fe):
		return badRequest(fe.field, "%s: %s", fe.field, fe.msg)
	case errors.As(err, &syn):
		return badRequest("", "malformed JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		typ.Field = strings.TrimPrefix(typ.Field, "samplingParams.") // the embedded struct of shared fields
		if typ.Field == "" {
			return badRequest("", "the request body must be a JSON object, not %s", article(typ.Value))
		}
		return badRequest(typ.Field, "%s: want %s, got %s", typ.Field, goTypeName(typ.Type.String()), article(typ.Value))
	case strings.Contains(err.Error(), "unexpected end of JSON input"):
		return badRequest("", "malformed JSON: the body ends early")
	}
	return badRequest("", "invalid request body: %v", err)
}

// fieldError is a decoding error of one field, raised by the request types'
// UnmarshalJSON methods.
type fieldError struct {
	field, msg string
}

func (e *fieldError) Error() string { return e.field + ": " + e.msg }

func article(jsonType string) string {
	switch jsonType {
	case "array", "object", "":
		return "an " + jsonType
	case "number", "string", "bool":
		if jsonType == "bool" {
			jsonType = "boolean"
		}
		return "a " + jsonType
	}
	if strings.HasPrefix(jsonType, "number") {
		return "the number " + strings.TrimSpace(strings.TrimPrefix(jsonType, "number"))
	}
	return jsonType
}

func goTypeName(t string) string {
	t = strings.TrimPrefix(t, "*")
	switch {
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "an integer"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case t == "string":
		return "a string"
	case t == "bool":
		return "a boolean"
	case strings.HasPrefix(t, "[]"):
		return "an array"
	case strings.HasPrefix(t, "map["), strings.HasPrefix(t, "serve."), strings.HasPrefix(t, "struct"):
		return "an object"
	}
	return t
}
