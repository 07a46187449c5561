package wamp

import "strconv"

// MessageType is the integer code that opens every WAMP message on the wire.
type MessageType uint8

// The message codes of the basic and advanced profile.
const (
	TypeHello        MessageType = 1
	TypeWelcome      MessageType = 2
	TypeAbort        MessageType = 3
	TypeChallenge    MessageType = 4
	TypeAuthenticate MessageType = 5
	TypeGoodbye      MessageType = 6
	TypeError        MessageType = 8
	TypePublish      MessageType = 16
	TypePublished    MessageType = 17
	TypeSubscribe    MessageType = 32
	TypeSubscribed   MessageType = 33
	TypeUnsubscribe  MessageType = 34
	TypeUnsubscribed MessageType = 35
	TypeEvent        MessageType = 36
	TypeCall         MessageType = 48
	TypeCancel       MessageType = 49
	TypeResult       MessageType = 50
	TypeRegister     MessageType = 64
	TypeRegistered   MessageType = 65
	TypeUnregister   MessageType = 66
	TypeUnregistered MessageType = 67
	TypeInvocation   MessageType = 68
	TypeInterrupt    MessageType = 69
	TypeYield        MessageType = 70
)

var typeNames = map[MessageType]string{
	TypeHello: "HELLO", TypeWelcome: "WELCOME", TypeAbort: "ABORT",
	TypeChallenge: "CHALLENGE", TypeAuthenticate: "AUTHENTICATE", TypeGoodbye: "GOODBYE",
	TypeError: "ERROR", TypePublish: "PUBLISH", TypePublished: "PUBLISHED",
	TypeSubscribe: "SUBSCRIBE", TypeSubscribed: "SUBSCRIBED", TypeUnsubscribe: "UNSUBSCRIBE",
	TypeUnsubscribed: "UNSUBSCRIBED", TypeEvent: "EVENT", TypeCall: "CALL",
	TypeCancel: "CANCEL", TypeResult: "RESULT", TypeRegister: "REGISTER",
	TypeRegistered: "REGISTERED", TypeUnregister: "UNREGISTER", TypeUnregistered: "UNREGISTERED",
	TypeInvocation: "INVOCATION", TypeInterrupt: "INTERRUPT", TypeYield: "YIELD",
}

// String returns the specification's name of the message type, such as "CALL".
func (t MessageType) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return "UNKNOWN(" + strconv.Itoa(int(t)) + ")"
}

// Message is one WAMP message. Each message type is a struct in this package
// whose doc comment shows its wire form.
type Message interface {
	Type() MessageType
}

// Hello opens a session: [HELLO, Realm|uri, Details|dict].
type Hello struct {
	Realm   URI
	Details Dict
}

// Welcome accepts a session: [WELCOME, Session|id, Details|dict].
type Welcome struct {
	Session ID
	Details Dict
}

// Abort refuses or ends a session before or instead of a GOODBYE:
// [ABORT, Details|dict, Reason|uri].
type Abort struct {
	Details Dict
	Reason  URI
}

// Challenge asks the client to authenticate:
// [CHALLENGE, AuthMethod|string, Extra|dict].
type Challenge struct {
	AuthMethod string
	Extra      Dict
}

// Authenticate answers a challenge:
// [AUTHENTICATE, Signature|string, Extra|dict].
type Authenticate struct {
	Signature string
	Extra     Dict
}

// Goodbye closes an established session:
// [GOODBYE, Details|dict, Reason|uri].
type Goodbye struct {
	Details Dict
	Reason  URI
}

// ErrorMessage reports that a request failed:
// [ERROR, REQUEST.Type|int, REQUEST.Request|id, Details|dict, Error|uri,
// Arguments|list, ArgumentsKw|dict].
type ErrorMessage struct {
	RequestType MessageType
	Request     ID
	Details     Dict
	Error       URI
	Args        List
	Kwargs      Dict
}

// Publish publishes an event:
// [PUBLISH, Request|id, Options|dict, Topic|uri, Arguments|list, ArgumentsKw|dict].
type Publish struct {
	Request ID
	Options Dict
	Topic   URI
	Args    List
	Kwargs  Dict
}

// Published acknowledges a publication:
// [PUBLISHED, PUBLISH.Request|id, Publication|id].
type Published struct {
	Request     ID
	Publication ID
}

// Subscribe asks for the events of a topic:
// [SUBSCRIBE, Request|id, Options|dict, Topic|uri].
type Subscribe struct {
	Request ID
	Options Dict
	Topic   URI
}

// Subscribed acknowledges a subscription:
// [SUBSCRIBED, SUBSCRIBE.Request|id, Subscription|id].
type Subscribed struct {
	Request      ID
	Subscription ID
}

// Unsubscribe ends a subscription:
// [UNSUBSCRIBE, Request|id, SUBSCRIBED.Subscription|id].
type Unsubscribe struct {
	Request      ID
	Subscription ID
}

// Unsubscribed acknowledges an unsubscription, or with Request 0 tells a
// subscriber that the router revoked its subscription:
// [UNSUBSCRIBED, UNSUBSCRIBE.Request|id, Details|dict].
type Unsubscribed struct {
	Request ID
	Details Dict
}

// Event delivers a publication to a subscriber:
// [EVENT, SUBSCRIBED.Subscription|id, PUBLISHED.Publication|id, Details|dict,
// Arguments|list, ArgumentsKw|dict].
type Event struct {
	Subscription ID
	Publication  ID
	Details      Dict
	Args         List
	Kwargs       Dict
}

// Call calls a procedure:
// [CALL, Request|id, Options|dict, Procedure|uri, Arguments|list, ArgumentsKw|dict].
type Call struct {
	Request   ID
	Options   Dict
	Procedure URI
	Args      List
	Kwargs    Dict
}

// Cancel asks the dealer to cancel a pending call:
// [CANCEL, CALL.Request|id, Options|dict].
type Cancel struct {
	Request ID
	Options Dict
}

// Result returns the result of a call, or one progressive part of it:
// [RESULT, CALL.Request|id, Details|dict, Arguments|list, ArgumentsKw|dict].
type Result struct {
	Request ID
	Details Dict
	Args    List
	Kwargs  Dict
}

// Register registers a procedure:
// [REGISTER, Request|id, Options|dict, Procedure|uri].
type Register struct {
	Request   ID
	Options   Dict
	Procedure URI
}

// Registered acknowledges a registration:
// [REGISTERED, REGISTER.Request|id, Registration|id].
type Registered struct {
	Request      ID
	Registration ID
}

// Unregister ends a registration:
// [UNREGISTER, Request|id, REGISTERED.Registration|id].
type Unregister struct {
	Request      ID
	Registration ID
}

// Unregistered acknowledges an unregistration, or with Request 0 tells a
// callee that the router revoked its registration:
// [UNREGISTERED, UNREGISTER.Request|id, Details|dict].
type Unregistered struct {
	Request ID
	Details Dict
}

// Invocation asks a callee to run a procedure:
// [INVOCATION, Request|id, REGISTERED.Registration|id, Details|dict,
// CALL.Arguments|list, CALL.ArgumentsKw|dict].
type Invocation struct {
	Request      ID
	Registration ID
	Details      Dict
	Args         List
	Kwargs       Dict
}

// Interrupt asks a callee to stop a pending invocation:
// [INTERRUPT, INVOCATION.Request|id, Options|dict].
type Interrupt struct {
	Request ID
	Options Dict
}

// Yield returns a callee's result, or one progressive part of it:
// [YIELD, INVOCATION.Request|id, Options|dict, Arguments|list, ArgumentsKw|dict].
type Yield struct {
	Request ID
	Options Dict
	Args    List
	Kwargs  Dict
}

func (*Hello) Type() MessageType        { return TypeHello }
func (*Welcome) Type() MessageType      { return TypeWelcome }
func (*Abort) Type() MessageType        { return TypeAbort }
func (*Challenge) Type() MessageType    { return TypeChallenge }
func (*Authenticate) Type() MessageType { return TypeAuthenticate }
func (*Goodbye) Type() MessageType      { return TypeGoodbye }
func (*ErrorMessage) Type() MessageType { return TypeError }
func (*Publish) Type() MessageType      { return TypePublish }
func (*Published) Type() MessageType    { return TypePublished }
func (*Subscribe) Type() MessageType    { return TypeSubscribe }
func (*Subscribed) Type() MessageType   { return TypeSubscribed }
func (*Unsubscribe) Type() MessageType  { return TypeUnsubscribe }
func (*Unsubscribed) Type() MessageType { return TypeUnsubscribed }
func (*Event) Type() MessageType        { return TypeEvent }
func (*Call) Type() MessageType         { return TypeCall }
func (*Cancel) Type() MessageType       { return TypeCancel }
func (*Result) Type() MessageType       { return TypeResult }
func (*Register) Type() MessageType     { return TypeRegister }
func (*Registered) Type() MessageType   { return TypeRegistered }
func (*Unregister) Type() MessageType   { return TypeUnregister }
func (*Unregistered) Type() MessageType { return TypeUnregistered }
func (*Invocation) Type() MessageType   { return TypeInvocation }
func (*Interrupt) Type() MessageType    { return TypeInterrupt }
func (*Yield) Type() MessageType        { return TypeYield }
