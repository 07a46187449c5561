package client

import (
	"errors"
	"fmt"
	"time"

	"github.com/wampkit/wampkit/wamp"
)

// Option sets an option of a request: an entry of the Options dict of the
// message it sends (CALL, REGISTER, SUBSCRIBE, PUBLISH), or, for
// [Progress] and [CancelMode], how the client runs a call. Options that
// apply to calls only make Register, Subscribe and Publish fail.
type Option func(*options)

// options is what a request's Options make.
type options struct {
	dict       wamp.Dict
	progress   func(*Result) // Progress's handler
	cancelMode string        // CancelMode's mode; "" for the default
	timeout    time.Duration // WithTimeout's duration; 0 for none
	callOnly   string        // the first call-only option set, for errors
}

// Cancel modes of [CancelMode]: what the router does with the callee of a
// call whose ctx ended.
const (
	// CancelSkip answers the caller and lets the callee run to its end
	// unaware.
	CancelSkip = "skip"
	// CancelKill interrupts the callee and waits for its answer before
	// it answers the caller.
	CancelKill = "kill"
	// CancelKillNoWait interrupts the callee and answers the caller at
	// once. It is the default.
	CancelKillNoWait = "killnowait"
)

// Acknowledge asks the broker to confirm a publication with PUBLISHED, so
// that Publish waits for it and reports an ERROR.
func Acknowledge() Option {
	return WithOption("acknowledge", true)
}

// ExcludeMe tells the broker whether to leave the publisher out of the
// receivers of its own publication. The broker's default is true.
func ExcludeMe(exclude bool) Option {
	return WithOption("exclude_me", exclude)
}

// Match sets the match policy of a subscription or registration:
// wamp.MatchExact (the default), wamp.MatchPrefix or wamp.MatchWildcard.
func Match(policy string) Option {
	return WithOption("match", policy)
}

// Invoke sets the invocation policy of a shared registration: "single"
// (the default: one callee only), "roundrobin", "random", "first" or
// "last". Every callee of a procedure must register it with the same
// policy; the router refuses another with
// wamp.error.procedure_exists_with_different_invocation_policy.
func Invoke(policy string) Option {
	return WithOption("invoke", policy)
}

// DiscloseMe asks the router to tell who sent a call or publication: the
// callee reads it with [Invocation.Caller], subscribers with
// [Event.Publisher] (and the details' "caller_authid" ...).
func DiscloseMe() Option {
	return WithOption("disclose_me", true)
}

// DiscloseCaller makes the router disclose the caller of every call that
// reaches this registration, as if each caller used DiscloseMe.
func DiscloseCaller() Option {
	return WithOption("disclose_caller", true)
}

// Retain asks the broker to keep this publication as the topic's retained
// event, which later subscribers get with [GetRetained].
func Retain() Option {
	return WithOption("retain", true)
}

// GetRetained asks the broker to send the new subscription the retained
// events it covers at once; [Event.Retained] tells them apart.
func GetRetained() Option {
	return WithOption("get_retained", true)
}

// Exclude leaves the sessions with these IDs out of a publication's
// receivers.
func Exclude(sessions ...wamp.ID) Option { return idList("exclude", sessions) }

// Eligible limits a publication's receivers to the sessions with these
// IDs (and the other eligibility lists).
func Eligible(sessions ...wamp.ID) Option { return idList("eligible", sessions) }

// ExcludeAuthID leaves the sessions authenticated with these authids out
// of a publication's receivers.
func ExcludeAuthID(authids ...string) Option { return stringList("exclude_authid", authids) }

// EligibleAuthID limits a publication's receivers to the sessions
// authenticated with these authids.
func EligibleAuthID(authids ...string) Option { return stringList("eligible_authid", authids) }

// ExcludeAuthRole leaves the sessions with these authroles out of a
// publication's receivers.
func ExcludeAuthRole(authroles ...string) Option { return stringList("exclude_authrole", authroles) }

// EligibleAuthRole limits a publication's receivers to the sessions with
// these authroles.
func EligibleAuthRole(authroles ...string) Option { return stringList("eligible_authrole", authroles) }

func idList(key string, ids []wamp.ID) Option {
	l := make(wamp.List, len(ids))
	for i, id := range ids {
		l[i] = int64(id)
	}
	return WithOption(key, l)
}

func stringList(key string, values []string) Option {
	l := make(wamp.List, len(values))
	for i, v := range values {
		l[i] = v
	}
	return WithOption(key, l)
}

// WithTimeout asks the router to give up a call after d: the call then
// fails with a *wamp.Error wamp.error.timeout and the callee is
// interrupted. It sends the option "timeout" in milliseconds, rounded up;
// d <= 0 sends none (the router's default applies). When the router does
// not announce call_timeout, the client itself gives up after d, cancels
// the call and returns the same error. Call and CallStream only.
func WithTimeout(d time.Duration) Option {
	return func(o *options) {
		o.setCallOnly("WithTimeout")
		if d <= 0 {
			delete(o.dict, "timeout")
			o.timeout = 0
			return
		}
		o.timeout = d
		o.dict["timeout"] = int64((d + time.Millisecond - 1) / time.Millisecond)
	}
}

// Progress asks the callee for progressive results (option
// "receive_progress") and passes each one to handler, whose Result has
// Details["progress"] true. The handlers of a call run one at a time, in
// order, on the goroutine of Call (of CallStream's own goroutine for a
// stream), and all have returned before Call or CallStream.Close returns
// the final result. A panic is recovered and logged. Call and CallStream
// only.
func Progress(handler func(*Result)) Option {
	return func(o *options) {
		o.setCallOnly("Progress")
		if handler == nil {
			delete(o.dict, "receive_progress")
			o.progress = nil
			return
		}
		o.progress = handler
		o.dict["receive_progress"] = true
	}
}

// CancelMode sets what the router does with the callee when the call's
// ctx ends: CancelKillNoWait (the default), CancelKill or CancelSkip. In
// every mode the client sends CANCEL and Call returns ctx's error at once;
// a late answer, the callee's included, is dropped. No CANCEL is sent to a
// router that does not announce call_canceling. Call and CallStream only.
func CancelMode(mode string) Option {
	return func(o *options) {
		o.setCallOnly("CancelMode")
		o.cancelMode = mode
	}
}

// WithOption sets any option by its key, for options that have no helper.
// value must be one of the types package wamp documents.
func WithOption(key string, value any) Option {
	return func(o *options) { o.dict[key] = value }
}

func (o *options) setCallOnly(name string) {
	if o.callOnly == "" {
		o.callOnly = name
	}
}

// errCallOnly is wrapped by the error of a request that is not a call but
// got a call-only option.
var errCallOnly = errors.New("applies to calls only")

// buildOptions applies opts to new options for a request of kind
// ("call", "register", ...), and checks those that the client reads.
func buildOptions(kind string, opts []Option) (*options, error) {
	o := &options{dict: wamp.Dict{}}
	for _, opt := range opts {
		if opt != nil {
			opt(o)
		}
	}
	if kind != "call" && o.callOnly != "" {
		return nil, fmt.Errorf("client: %s: option %s %w", kind, o.callOnly, errCallOnly)
	}
	switch o.cancelMode {
	case "", CancelSkip, CancelKill, CancelKillNoWait:
	default:
		return nil, fmt.Errorf("client: %s: cancel mode %q is not one of skip, kill, killnowait", kind, o.cancelMode)
	}
	return o, nil
}
