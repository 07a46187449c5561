package wamp

import (
	"errors"
	"math"
	"reflect"
	"testing"
)

// everyMessage has one message of each type, with non-empty dicts and
// payloads so that the round trip through the list form is exact.
func everyMessage() []Message {
	d := Dict{"k": "v"}
	args := List{int64(1), "two", []byte{3}}
	kw := Dict{"x": int64(4)}
	return []Message{
		&Hello{Realm: "realm1", Details: Dict{"roles": Dict{"caller": Dict{}}}},
		&Welcome{Session: 1 << 40, Details: d},
		&Abort{Details: d, Reason: ErrNoSuchRealm},
		&Challenge{AuthMethod: "wampcra", Extra: Dict{"challenge": "abc"}},
		&Authenticate{Signature: "sig", Extra: d},
		&Goodbye{Details: d, Reason: ErrGoodbyeAndOut},
		&ErrorMessage{RequestType: TypeCall, Request: 5, Details: d, Error: ErrNoSuchProcedure, Args: args, Kwargs: kw},
		&Publish{Request: 6, Options: Dict{"acknowledge": true}, Topic: "com.example.t", Args: args, Kwargs: kw},
		&Published{Request: 6, Publication: MaxID},
		&Subscribe{Request: 7, Options: Dict{"match": "prefix"}, Topic: "com.example"},
		&Subscribed{Request: 7, Subscription: 8},
		&Unsubscribe{Request: 9, Subscription: 8},
		&Unsubscribed{Request: 9},
		&Unsubscribed{Request: 0, Details: Dict{"subscription": int64(8), "reason": "wamp.error.revoked"}},
		&Event{Subscription: 8, Publication: 10, Details: d, Args: args},
		&Call{Request: 11, Options: d, Procedure: "com.example.add", Args: List{int64(2), int64(3)}, Kwargs: kw},
		&Cancel{Request: 11, Options: Dict{"mode": "kill"}},
		&Result{Request: 11, Details: Dict{"progress": true}, Args: List{int64(5)}},
		&Register{Request: 12, Options: d, Procedure: "com.example.add"},
		&Registered{Request: 12, Registration: 13},
		&Unregister{Request: 14, Registration: 13},
		&Unregistered{Request: 14},
		&Unregistered{Request: 0, Details: Dict{"registration": int64(13)}},
		&Invocation{Request: 15, Registration: 13, Details: d, Args: List{int64(2), int64(3)}},
		&Interrupt{Request: 15, Options: Dict{"mode": "killnowait"}},
		&Yield{Request: 15, Options: d, Args: List{int64(5)}, Kwargs: kw},
	}
}

func TestListRoundTrip(t *testing.T) {
	seen := map[MessageType]bool{}
	for _, m := range everyMessage() {
		seen[m.Type()] = true
		l := ToList(m)
		if code, _ := l[0].(int64); MessageType(code) != m.Type() {
			t.Errorf("%v: ToList starts with %v", m.Type(), l[0])
		}
		got, err := FromList(l)
		if err != nil {
			t.Errorf("%v: FromList(%v): %v", m.Type(), l, err)
			continue
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("%v: round trip gave %#v, want %#v", m.Type(), got, m)
		}
	}
	for code := range typeNames {
		if !seen[code] {
			t.Errorf("no round trip test for %v", code)
		}
	}
}

func TestToListOmitsEmptyPayload(t *testing.T) {
	tests := []struct {
		m    Message
		want List
	}{
		{&Call{Request: 1, Procedure: "p"}, List{int64(48), int64(1), Dict{}, "p"}},
		{&Call{Request: 1, Procedure: "p", Args: List{}}, List{int64(48), int64(1), Dict{}, "p"}},
		{&Call{Request: 1, Procedure: "p", Args: List{"a"}}, List{int64(48), int64(1), Dict{}, "p", List{"a"}}},
		{&Call{Request: 1, Procedure: "p", Kwargs: Dict{"k": true}}, List{int64(48), int64(1), Dict{}, "p", List{}, Dict{"k": true}}},
		{&Yield{Request: 2, Kwargs: Dict{}}, List{int64(70), int64(2), Dict{}}},
		{&Unsubscribed{Request: 3, Details: Dict{}}, List{int64(35), int64(3)}},
		{&Hello{Realm: "r"}, List{int64(1), "r", Dict{}}},
	}
	for _, tt := range tests {
		if got := ToList(tt.m); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ToList(%#v) = %#v, want %#v", tt.m, got, tt.want)
		}
	}
}

func TestFromListAcceptsEveryIntegerType(t *testing.T) {
	for _, v := range []any{int64(7), uint64(7), 7, int32(7), uint32(7), int16(7), uint16(7), int8(7), uint8(7), uint(7)} {
		m, err := FromList(List{int64(TypeSubscribed), v, int64(8)})
		if err != nil {
			t.Errorf("%T: %v", v, err)
			continue
		}
		if want := (&Subscribed{Request: 7, Subscription: 8}); !reflect.DeepEqual(m, want) {
			t.Errorf("%T: got %#v", v, m)
		}
	}
	for _, code := range []any{uint8(TypeSubscribed), 33, uint64(33)} {
		if _, err := FromList(List{code, int64(7), int64(8)}); err != nil {
			t.Errorf("type code as %T: %v", code, err)
		}
	}
}

func wantInvalid(t *testing.T, l List) {
	t.Helper()
	m, err := FromList(l)
	if !errors.Is(err, ErrInvalidMessage) {
		t.Errorf("FromList(%#v) = %#v, %v; want ErrInvalidMessage", l, m, err)
	}
	if m != nil {
		t.Errorf("FromList(%#v) returned a message with its error", l)
	}
}

func TestFromListArity(t *testing.T) {
	arity := map[MessageType][2]int{
		TypeHello: {3, 3}, TypeWelcome: {3, 3}, TypeAbort: {3, 3}, TypeChallenge: {3, 3},
		TypeAuthenticate: {3, 3}, TypeGoodbye: {3, 3}, TypeError: {5, 7}, TypePublish: {4, 6},
		TypePublished: {3, 3}, TypeSubscribe: {4, 4}, TypeSubscribed: {3, 3}, TypeUnsubscribe: {3, 3},
		TypeUnsubscribed: {2, 3}, TypeEvent: {4, 6}, TypeCall: {4, 6}, TypeCancel: {3, 3},
		TypeResult: {3, 5}, TypeRegister: {4, 4}, TypeRegistered: {3, 3}, TypeUnregister: {3, 3},
		TypeUnregistered: {2, 3}, TypeInvocation: {4, 6}, TypeInterrupt: {3, 3}, TypeYield: {3, 5},
	}
	if len(arity) != len(typeNames) {
		t.Fatalf("arity table has %d types, want %d", len(arity), len(typeNames))
	}
	for _, m := range everyMessage() {
		full := ToList(m)
		lo, hi := arity[m.Type()][0], arity[m.Type()][1]
		if len(full) < lo || len(full) > hi {
			t.Fatalf("%v: test message has %d elements", m.Type(), len(full))
		}
		wantInvalid(t, full[:lo-1])
		long := append(append(List{}, full...), make(List, hi+1-len(full))...)
		wantInvalid(t, long)
	}
}

func TestFromListBadIDs(t *testing.T) {
	bad := []any{int64(0), int64(-1), int64(MaxID) + 1, uint64(math.MaxUint64), 1.5, 7.0, "7", nil, true, List{int64(1)}}
	for _, id := range bad {
		wantInvalid(t, List{int64(TypePublished), id, int64(1)})
		wantInvalid(t, List{int64(TypePublished), int64(1), id})
		wantInvalid(t, List{int64(TypeCall), id, Dict{}, "p"})
		wantInvalid(t, List{int64(TypeEvent), int64(1), id, Dict{}})
	}
	// 2^53 is the largest ID; UNSUBSCRIBED and UNREGISTERED allow request 0.
	if _, err := FromList(List{int64(TypePublished), int64(MaxID), int64(MaxID)}); err != nil {
		t.Errorf("ID 2^53: %v", err)
	}
	for _, code := range []MessageType{TypeUnsubscribed, TypeUnregistered} {
		if _, err := FromList(List{int64(code), int64(0), Dict{}}); err != nil {
			t.Errorf("%v with request 0: %v", code, err)
		}
		for _, id := range []any{int64(-1), int64(MaxID) + 1, 1.5, "0", nil} {
			wantInvalid(t, List{int64(code), id})
		}
	}
}

func TestFromListUnknownType(t *testing.T) {
	for _, code := range []any{int64(0), int64(7), int64(9), int64(71), int64(255), int64(256), int64(-1), 1.0, "1", nil} {
		wantInvalid(t, List{code, "realm", Dict{}})
	}
	wantInvalid(t, List{})
	wantInvalid(t, nil)
}

func TestFromListErrorRequestType(t *testing.T) {
	for _, rt := range []any{int64(0), int64(7), int64(99), int64(300), int64(-8), 48.0, "CALL", nil} {
		wantInvalid(t, List{int64(TypeError), rt, int64(1), Dict{}, "wamp.error.x"})
	}
	m, err := FromList(List{int64(TypeError), int64(TypeSubscribe), int64(1), Dict{}, "wamp.error.not_authorized"})
	if err != nil || m.(*ErrorMessage).RequestType != TypeSubscribe {
		t.Errorf("ERROR for SUBSCRIBE: %#v, %v", m, err)
	}
}

func TestFromListElementTypes(t *testing.T) {
	invalidUTF8 := string([]byte{0xff, 0xfe})
	for _, l := range []List{
		{int64(TypeHello), int64(1), Dict{}},                         // realm not a string
		{int64(TypeHello), invalidUTF8, Dict{}},                      // realm not UTF-8
		{int64(TypeHello), "realm", List{}},                          // details a list
		{int64(TypeHello), "realm", nil},                             // details missing
		{int64(TypeWelcome), int64(1), "details"},                    // details a string
		{int64(TypeAbort), Dict{}, int64(3)},                         // reason not a string
		{int64(TypeChallenge), Dict{}, Dict{}},                       // auth method not a string
		{int64(TypeAuthenticate), "sig", List{}},                     // extra a list
		{int64(TypeCall), int64(1), Dict{}, "p", Dict{}},             // args a dict
		{int64(TypeCall), int64(1), Dict{}, "p", List{}, List{}},     // kwargs a list
		{int64(TypeCall), int64(1), Dict{}, "p", nil},                // args nil
		{int64(TypePublish), int64(1), List{}, "t"},                  // options a list
		{int64(TypeEvent), int64(1), int64(2), Dict{}, "a"},          // args a string
		{int64(TypeResult), int64(1), Dict{}, List{}, "kw"},          // kwargs a string
		{int64(TypeYield), int64(1), Dict{}, Dict{}},                 // args a dict
		{int64(TypeError), int64(48), int64(1), Dict{}, invalidUTF8}, // error URI not UTF-8
		{int64(TypeUnsubscribed), int64(1), List{}},                  // details a list
		{int64(TypeInvocation), int64(1), int64(2), Dict{}, Dict{}},  // args a dict
		{int64(TypeSubscribe), int64(1), map[string]string{}, "t"},   // not the Dict type
		{int64(TypeRegister), int64(1), Dict{}, []byte("procedure")}, // procedure as bytes
	} {
		wantInvalid(t, l)
	}
}

func TestMessageTypeString(t *testing.T) {
	for code, want := range map[MessageType]string{TypeCall: "CALL", TypeError: "ERROR", TypeUnregistered: "UNREGISTERED", 7: "UNKNOWN(7)"} {
		if got := code.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", code, got, want)
		}
	}
}

func TestAsIntAndAsBool(t *testing.T) {
	for _, tt := range []struct {
		v    any
		want int64
		ok   bool
	}{
		{int64(-5), -5, true}, {uint8(5), 5, true}, {3.0, 3, true}, {3.5, 0, false},
		{uint64(math.MaxUint64), 0, false}, {"3", 0, false}, {nil, 0, false}, {true, 0, false},
	} {
		if got, ok := AsInt(tt.v); got != tt.want || ok != tt.ok {
			t.Errorf("AsInt(%#v) = %d, %v; want %d, %v", tt.v, got, ok, tt.want, tt.ok)
		}
	}
	if b, ok := AsBool(true); !b || !ok {
		t.Errorf("AsBool(true) = %v, %v", b, ok)
	}
	if b, ok := AsBool("true"); b || ok {
		t.Errorf(`AsBool("true") = %v, %v`, b, ok)
	}
}
