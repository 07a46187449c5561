package codec

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/wampkit/wampkit/wamp"
)

// MaxDepth is the deepest nesting of lists and dicts that the codecs decode
// or encode, counting the message list itself as level 1 (so a CALL's
// arguments list is level 2).
//
// Decoders recurse once per level. Without a bound, a few megabytes of
// "[[[[" would grow the stack of the goroutine that reads a connection
// toward Go's 1 GB limit, whose overflow is fatal, not recoverable, and
// costs memory and time all along. 100 levels leave
// application payloads far more room than any sane one needs and keep a
// decode within a few kilobytes of stack. Encoders check the same bound, so
// that a message this package encodes is one it decodes, and so that a list
// that contains itself is an error instead of a stack overflow.
const MaxDepth = 100

// ErrUnsupportedValue is wrapped by the errors of Encode when a message
// holds a value outside the closed set that package wamp documents (nil,
// bool, Go integers and floats, string, []byte, wamp.List, wamp.Dict, plus
// wamp.ID and wamp.URI), a string that is not valid UTF-8, a float that the
// serializer cannot carry, nesting deeper than [MaxDepth], or when the
// message itself is nil or of a type that package wamp does not define.
var ErrUnsupportedValue = errors.New("codec: unsupported value")

// malformed returns a decoding error that wraps wamp.ErrInvalidMessage, so
// that a router answers it with ABORT wamp.error.protocol_violation.
func malformed(codec, format string, a ...any) error {
	return fmt.Errorf("%w: %s: %s", wamp.ErrInvalidMessage, codec, fmt.Sprintf(format, a...))
}

// malformedErr turns a library's decoding error into one like malformed.
func malformedErr(codec string, err error) error {
	return malformed(codec, "%s", strings.TrimPrefix(err.Error(), codec+": "))
}

// clip shortens what an error message quotes from the input.
func clip[T string | []byte](s T) string {
	const limit = 40
	if len(s) > limit {
		return string(s[:limit]) + "..."
	}
	return string(s)
}

// unsupported returns an encoding error that wraps ErrUnsupportedValue.
func unsupported(codec, format string, a ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrUnsupportedValue, codec, fmt.Sprintf(format, a...))
}

// errTooDeep is the detail of the errors for nesting beyond MaxDepth.
var errTooDeep = fmt.Sprintf("nesting deeper than %d levels", MaxDepth)

// intKind classifies a Go value for the encoders.
type intKind uint8

const (
	notInt intKind = iota
	signedInt
	unsignedInt
)

// integerOf reports whether v is a Go integer (including wamp.ID) and its
// value: in i when kind is signedInt, in u when kind is unsignedInt.
func integerOf(v any) (i int64, u uint64, kind intKind) {
	switch n := v.(type) {
	case int64:
		return n, 0, signedInt
	case int:
		return int64(n), 0, signedInt
	case int32:
		return int64(n), 0, signedInt
	case int16:
		return int64(n), 0, signedInt
	case int8:
		return int64(n), 0, signedInt
	case uint64:
		return 0, n, unsignedInt
	case wamp.ID:
		return 0, uint64(n), unsignedInt
	case uint:
		return 0, uint64(n), unsignedInt
	case uint32:
		return 0, uint64(n), unsignedInt
	case uint16:
		return 0, uint64(n), unsignedInt
	case uint8:
		return 0, uint64(n), unsignedInt
	}
	return 0, 0, notInt
}

// unsignedValue returns the decoded form of an unsigned integer: int64 when
// it fits, uint64 above math.MaxInt64.
func unsignedValue(u uint64) any {
	if u <= math.MaxInt64 {
		return int64(u)
	}
	return u
}

// checkValue verifies that v and everything inside it can be encoded: the
// types are in the closed set, strings and keys are valid UTF-8 and the
// nesting, counting v at level depth, stays within MaxDepth. It serves the
// codecs whose library encodes the tree.
func checkValue(codec string, v any, depth int) error {
	switch v := v.(type) {
	case nil, bool, float64, float32, []byte:
		return nil
	case string:
		if !utf8.ValidString(v) {
			return unsupported(codec, "string %q is not valid UTF-8", clip(v))
		}
		return nil
	case wamp.URI:
		if !utf8.ValidString(string(v)) {
			return unsupported(codec, "URI %q is not valid UTF-8", clip(string(v)))
		}
		return nil
	case wamp.List:
		if depth > MaxDepth {
			return unsupported(codec, "%s", errTooDeep)
		}
		for _, e := range v {
			if err := checkValue(codec, e, depth+1); err != nil {
				return err
			}
		}
		return nil
	case wamp.Dict:
		if depth > MaxDepth {
			return unsupported(codec, "%s", errTooDeep)
		}
		for k, e := range v {
			if !utf8.ValidString(k) {
				return unsupported(codec, "key %q is not valid UTF-8", clip(k))
			}
			if err := checkValue(codec, e, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if _, _, kind := integerOf(v); kind != notInt {
		return nil
	}
	return unsupported(codec, "cannot encode a value of type %T", v)
}

// toList returns the list form of m, unwrapping a *Prepared. A message
// type that package wamp does not know, or a nil message, is an error
// rather than the panic of wamp.ToList.
func toList(codec string, m wamp.Message) (l wamp.List, err error) {
	defer func() {
		if recover() != nil {
			l, err = nil, unsupported(codec, "cannot encode message %T", m)
		}
	}()
	return wamp.ToList(Unwrap(m)), nil
}

// fields is the list form of a frequent message (CALL, INVOCATION, YIELD,
// RESULT, ERROR, PUBLISH, EVENT), for encoders to write element by element
// without building a wamp.List: wamp.ToList boxes every ID and URI into an
// interface, an allocation each, on every message a router forwards. The
// form is always: integers (the message type, then IDs), a dict, maybe a
// URI, then the payload as wamp.ToList leaves it.
type fields struct {
	ints   [3]int64
	nints  int
	dict   wamp.Dict // nil encodes as an empty dict
	uri    string
	hasURI bool
	args   wamp.List
	kwargs wamp.Dict
	nargs  int // payload elements: 0, 1 (args) or 2 (args and kwargs)
}

// len is the length of the list form.
func (f *fields) len() int {
	n := f.nints + 1 + f.nargs
	if f.hasURI {
		n++
	}
	return n
}

// fieldsOf fills f with the list form of m and reports whether m is one of
// the frequent messages.
func fieldsOf(m wamp.Message, f *fields) bool {
	var dict wamp.Dict
	switch m := m.(type) {
	case *wamp.Call:
		if m == nil {
			return false // toList reports it
		}
		f.ints, f.nints = [3]int64{int64(wamp.TypeCall), int64(m.Request)}, 2
		dict, f.uri, f.hasURI = m.Options, string(m.Procedure), true
		f.args, f.kwargs = m.Args, m.Kwargs
	case *wamp.Invocation:
		if m == nil {
			return false // toList reports it
		}
		f.ints, f.nints = [3]int64{int64(wamp.TypeInvocation), int64(m.Request), int64(m.Registration)}, 3
		dict = m.Details
		f.args, f.kwargs = m.Args, m.Kwargs
	case *wamp.Yield:
		if m == nil {
			return false // toList reports it
		}
		f.ints, f.nints = [3]int64{int64(wamp.TypeYield), int64(m.Request)}, 2
		dict = m.Options
		f.args, f.kwargs = m.Args, m.Kwargs
	case *wamp.Result:
		if m == nil {
			return false // toList reports it
		}
		f.ints, f.nints = [3]int64{int64(wamp.TypeResult), int64(m.Request)}, 2
		dict = m.Details
		f.args, f.kwargs = m.Args, m.Kwargs
	case *wamp.ErrorMessage:
		if m == nil {
			return false // toList reports it
		}
		f.ints, f.nints = [3]int64{int64(wamp.TypeError), int64(m.RequestType), int64(m.Request)}, 3
		dict, f.uri, f.hasURI = m.Details, string(m.Error), true
		f.args, f.kwargs = m.Args, m.Kwargs
	case *wamp.Publish:
		if m == nil {
			return false // toList reports it
		}
		f.ints, f.nints = [3]int64{int64(wamp.TypePublish), int64(m.Request)}, 2
		dict, f.uri, f.hasURI = m.Options, string(m.Topic), true
		f.args, f.kwargs = m.Args, m.Kwargs
	case *wamp.Event:
		if m == nil {
			return false // toList reports it
		}
		f.ints, f.nints = [3]int64{int64(wamp.TypeEvent), int64(m.Subscription), int64(m.Publication)}, 3
		dict = m.Details
		f.args, f.kwargs = m.Args, m.Kwargs
	default:
		return false
	}
	f.dict = dict
	// As wamp.ToList: kwargs only when not empty, and then args too.
	switch {
	case len(f.kwargs) > 0:
		if f.args == nil {
			f.args = wamp.List{}
		}
		f.nargs = 2
	case len(f.args) > 0:
		f.nargs = 1
	}
	return true
}
