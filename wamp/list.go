package wamp

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// ErrInvalidMessage is wrapped by every error that [FromList] returns: the
// list is not a well-formed WAMP message. A router answers it with ABORT
// wamp.error.protocol_violation.
var ErrInvalidMessage = errors.New("wamp: invalid message")

// ToList returns the wire form of m as a list, ready for a codec. Empty
// trailing Args and Kwargs are left out, as the specification asks.
func ToList(m Message) List {
	switch m := m.(type) {
	case *Hello:
		return List{int64(TypeHello), string(m.Realm), dict(m.Details)}
	case *Welcome:
		return List{int64(TypeWelcome), int64(m.Session), dict(m.Details)}
	case *Abort:
		return List{int64(TypeAbort), dict(m.Details), string(m.Reason)}
	case *Challenge:
		return List{int64(TypeChallenge), m.AuthMethod, dict(m.Extra)}
	case *Authenticate:
		return List{int64(TypeAuthenticate), m.Signature, dict(m.Extra)}
	case *Goodbye:
		return List{int64(TypeGoodbye), dict(m.Details), string(m.Reason)}
	case *ErrorMessage:
		return withPayload(List{int64(TypeError), int64(m.RequestType), int64(m.Request), dict(m.Details), string(m.Error), nil, nil}[:5], m.Args, m.Kwargs)
	case *Publish:
		return withPayload(List{int64(TypePublish), int64(m.Request), dict(m.Options), string(m.Topic), nil, nil}[:4], m.Args, m.Kwargs)
	case *Published:
		return List{int64(TypePublished), int64(m.Request), int64(m.Publication)}
	case *Subscribe:
		return List{int64(TypeSubscribe), int64(m.Request), dict(m.Options), string(m.Topic)}
	case *Subscribed:
		return List{int64(TypeSubscribed), int64(m.Request), int64(m.Subscription)}
	case *Unsubscribe:
		return List{int64(TypeUnsubscribe), int64(m.Request), int64(m.Subscription)}
	case *Unsubscribed:
		if len(m.Details) == 0 {
			return List{int64(TypeUnsubscribed), int64(m.Request)}
		}
		return List{int64(TypeUnsubscribed), int64(m.Request), m.Details}
	case *Event:
		return withPayload(List{int64(TypeEvent), int64(m.Subscription), int64(m.Publication), dict(m.Details), nil, nil}[:4], m.Args, m.Kwargs)
	case *Call:
		return withPayload(List{int64(TypeCall), int64(m.Request), dict(m.Options), string(m.Procedure), nil, nil}[:4], m.Args, m.Kwargs)
	case *Cancel:
		return List{int64(TypeCancel), int64(m.Request), dict(m.Options)}
	case *Result:
		return withPayload(List{int64(TypeResult), int64(m.Request), dict(m.Details), nil, nil}[:3], m.Args, m.Kwargs)
	case *Register:
		return List{int64(TypeRegister), int64(m.Request), dict(m.Options), string(m.Procedure)}
	case *Registered:
		return List{int64(TypeRegistered), int64(m.Request), int64(m.Registration)}
	case *Unregister:
		return List{int64(TypeUnregister), int64(m.Request), int64(m.Registration)}
	case *Unregistered:
		if len(m.Details) == 0 {
			return List{int64(TypeUnregistered), int64(m.Request)}
		}
		return List{int64(TypeUnregistered), int64(m.Request), m.Details}
	case *Invocation:
		return withPayload(List{int64(TypeInvocation), int64(m.Request), int64(m.Registration), dict(m.Details), nil, nil}[:4], m.Args, m.Kwargs)
	case *Interrupt:
		return List{int64(TypeInterrupt), int64(m.Request), dict(m.Options)}
	case *Yield:
		return withPayload(List{int64(TypeYield), int64(m.Request), dict(m.Options), nil, nil}[:3], m.Args, m.Kwargs)
	}
	panic(fmt.Sprintf("wamp: ToList of unknown message %T", m))
}

func dict(d Dict) Dict {
	if d == nil {
		return Dict{}
	}
	return d
}

func withPayload(l List, args List, kwargs Dict) List {
	switch {
	case len(kwargs) > 0:
		if args == nil {
			args = List{}
		}
		return append(l, args, kwargs)
	case len(args) > 0:
		return append(l, args)
	}
	return l
}

// FromList validates the list form of a message, its arity and the type of
// every element, and returns the message. IDs must be integers in
// [1, 2^53]; URIs must be valid UTF-8 strings. Errors wrap
// [ErrInvalidMessage].
func FromList(l List) (Message, error) {
	if len(l) == 0 {
		return nil, invalid("empty message")
	}
	code, ok := integer(l[0])
	if !ok || code < 0 || code > 255 {
		return nil, invalid("message type %v is not an integer code", l[0])
	}
	d := decoder{l: l, t: MessageType(code)}
	var m Message
	switch d.t {
	case TypeHello:
		d.arity(3, 3)
		m = &Hello{Realm: d.uri(1), Details: d.dict(2)}
	case TypeWelcome:
		d.arity(3, 3)
		m = &Welcome{Session: d.id(1), Details: d.dict(2)}
	case TypeAbort:
		d.arity(3, 3)
		m = &Abort{Details: d.dict(1), Reason: d.uri(2)}
	case TypeChallenge:
		d.arity(3, 3)
		m = &Challenge{AuthMethod: d.str(1), Extra: d.dict(2)}
	case TypeAuthenticate:
		d.arity(3, 3)
		m = &Authenticate{Signature: d.str(1), Extra: d.dict(2)}
	case TypeGoodbye:
		d.arity(3, 3)
		m = &Goodbye{Details: d.dict(1), Reason: d.uri(2)}
	case TypeError:
		d.arity(5, 7)
		m = &ErrorMessage{RequestType: d.requestType(1), Request: d.id(2), Details: d.dict(3), Error: d.uri(4), Args: d.args(5), Kwargs: d.kwargs(6)}
	case TypePublish:
		d.arity(4, 6)
		m = &Publish{Request: d.id(1), Options: d.dict(2), Topic: d.uri(3), Args: d.args(4), Kwargs: d.kwargs(5)}
	case TypePublished:
		d.arity(3, 3)
		m = &Published{Request: d.id(1), Publication: d.id(2)}
	case TypeSubscribe:
		d.arity(4, 4)
		m = &Subscribe{Request: d.id(1), Options: d.dict(2), Topic: d.uri(3)}
	case TypeSubscribed:
		d.arity(3, 3)
		m = &Subscribed{Request: d.id(1), Subscription: d.id(2)}
	case TypeUnsubscribe:
		d.arity(3, 3)
		m = &Unsubscribe{Request: d.id(1), Subscription: d.id(2)}
	case TypeUnsubscribed:
		d.arity(2, 3)
		m = &Unsubscribed{Request: d.idOrZero(1), Details: d.optDict(2)}
	case TypeEvent:
		d.arity(4, 6)
		m = &Event{Subscription: d.id(1), Publication: d.id(2), Details: d.dict(3), Args: d.args(4), Kwargs: d.kwargs(5)}
	case TypeCall:
		d.arity(4, 6)
		m = &Call{Request: d.id(1), Options: d.dict(2), Procedure: d.uri(3), Args: d.args(4), Kwargs: d.kwargs(5)}
	case TypeCancel:
		d.arity(3, 3)
		m = &Cancel{Request: d.id(1), Options: d.dict(2)}
	case TypeResult:
		d.arity(3, 5)
		m = &Result{Request: d.id(1), Details: d.dict(2), Args: d.args(3), Kwargs: d.kwargs(4)}
	case TypeRegister:
		d.arity(4, 4)
		m = &Register{Request: d.id(1), Options: d.dict(2), Procedure: d.uri(3)}
	case TypeRegistered:
		d.arity(3, 3)
		m = &Registered{Request: d.id(1), Registration: d.id(2)}
	case TypeUnregister:
		d.arity(3, 3)
		m = &Unregister{Request: d.id(1), Registration: d.id(2)}
	case TypeUnregistered:
		d.arity(2, 3)
		m = &Unregistered{Request: d.idOrZero(1), Details: d.optDict(2)}
	case TypeInvocation:
		d.arity(4, 6)
		m = &Invocation{Request: d.id(1), Registration: d.id(2), Details: d.dict(3), Args: d.args(4), Kwargs: d.kwargs(5)}
	case TypeInterrupt:
		d.arity(3, 3)
		m = &Interrupt{Request: d.id(1), Options: d.dict(2)}
	case TypeYield:
		d.arity(3, 5)
		m = &Yield{Request: d.id(1), Options: d.dict(2), Args: d.args(3), Kwargs: d.kwargs(4)}
	default:
		return nil, invalid("unknown message type %d", code)
	}
	if d.err != nil {
		return nil, d.err
	}
	return m, nil
}

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidMessage, fmt.Sprintf(format, a...))
}

// decoder reads the elements of one message list and keeps the first error.
type decoder struct {
	l   List
	t   MessageType
	err error
}

func (d *decoder) fail(i int, what string) {
	if d.err == nil {
		d.err = invalid("%s element %d: %s", d.t, i, what)
	}
}

func (d *decoder) arity(lo, hi int) {
	if n := len(d.l); n < lo || n > hi {
		if lo == hi {
			d.err = invalid("%s has %d elements, want %d", d.t, n, lo)
		} else {
			d.err = invalid("%s has %d elements, want %d to %d", d.t, n, lo, hi)
		}
	}
}

func (d *decoder) get(i int) (any, bool) {
	if d.err != nil || i >= len(d.l) {
		return nil, false
	}
	return d.l[i], true
}

func (d *decoder) id(i int) ID {
	id := d.idOrZero(i)
	if d.err == nil && id == 0 {
		d.fail(i, "ID 0 is out of range [1, 2^53]")
	}
	return id
}

func (d *decoder) idOrZero(i int) ID {
	v, ok := d.get(i)
	if !ok {
		return 0
	}
	n, ok := integer(v)
	if !ok {
		d.fail(i, fmt.Sprintf("ID must be an integer, not %T", v))
		return 0
	}
	if n < 0 || n > int64(MaxID) {
		d.fail(i, fmt.Sprintf("ID %d is out of range [1, 2^53]", n))
		return 0
	}
	return ID(n)
}

func (d *decoder) requestType(i int) MessageType {
	v, ok := d.get(i)
	if !ok {
		return 0
	}
	n, ok := integer(v)
	if !ok || n < 0 || n > 255 || typeNames[MessageType(n)] == "" {
		d.fail(i, fmt.Sprintf("request type %v is not a message type", v))
		return 0
	}
	return MessageType(n)
}

func (d *decoder) str(i int) string {
	v, ok := d.get(i)
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		d.fail(i, fmt.Sprintf("want a string, not %T", v))
		return ""
	}
	if !utf8.ValidString(s) {
		d.fail(i, "string is not valid UTF-8")
	}
	return s
}

func (d *decoder) uri(i int) URI {
	return URI(d.str(i))
}

func (d *decoder) dict(i int) Dict {
	v, ok := d.get(i)
	if !ok {
		return nil
	}
	m, ok := v.(Dict)
	if !ok {
		d.fail(i, fmt.Sprintf("want a dict, not %T", v))
	}
	return m
}

func (d *decoder) optDict(i int) Dict {
	if i >= len(d.l) {
		return nil
	}
	return d.dict(i)
}

func (d *decoder) args(i int) List {
	v, ok := d.get(i)
	if !ok {
		return nil
	}
	l, ok := v.(List)
	if !ok {
		d.fail(i, fmt.Sprintf("arguments must be a list, not %T", v))
	}
	return l
}

func (d *decoder) kwargs(i int) Dict {
	v, ok := d.get(i)
	if !ok {
		return nil
	}
	m, ok := v.(Dict)
	if !ok {
		d.fail(i, fmt.Sprintf("keyword arguments must be a dict, not %T", v))
	}
	return m
}

// integer reports the value of v if it is a Go integer that fits int64.
func integer(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case uint64:
		if n > 1<<63-1 {
			return 0, false
		}
		return int64(n), true
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case uint32:
		return int64(n), true
	case int16:
		return int64(n), true
	case uint16:
		return int64(n), true
	case int8:
		return int64(n), true
	case uint8:
		return int64(n), true
	case uint:
		if uint64(n) > 1<<63-1 {
			return 0, false
		}
		return int64(n), true
	}
	return 0, false
}

// AsInt reports the integer value of a decoded value, such as an option.
// It accepts every Go integer type and floats with an integral value, as a
// JavaScript peer may send a whole number as a float.
func AsInt(v any) (int64, bool) {
	if n, ok := integer(v); ok {
		return n, true
	}
	if f, ok := v.(float64); ok && f == float64(int64(f)) {
		return int64(f), true
	}
	return 0, false
}

// AsBool reports the value of a boolean option; ok is false when v is not
// a bool.
func AsBool(v any) (b, ok bool) {
	b, ok = v.(bool)
	return b, ok
}
