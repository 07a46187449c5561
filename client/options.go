package client

import "github.com/wampkit/wampkit/wamp"

// Option sets an entry of the Options dict of the message a request sends
// (CALL, REGISTER, SUBSCRIBE, PUBLISH).
type Option func(wamp.Dict)

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

// WithOption sets any option by its key, for options that have no helper.
// value must be one of the types package wamp documents.
func WithOption(key string, value any) Option {
	return func(d wamp.Dict) { d[key] = value }
}

// buildOptions applies opts to a new dict.
func buildOptions(opts []Option) wamp.Dict {
	d := wamp.Dict{}
	for _, o := range opts {
		if o != nil {
			o(d)
		}
	}
	return d
}
