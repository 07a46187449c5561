// Command wamp is a WAMP client for shell scripts and debugging.
//
//	wamp [flags] call PROC [ARG...]          call PROC, print its result
//	wamp [flags] publish TOPIC [ARG...]      publish (acknowledged) to TOPIC
//	wamp [flags] subscribe TOPIC             print TOPIC's events as JSON lines until interrupted
//	wamp [flags] register PROC -- CMD [ARG...]  run CMD for each call of PROC
//
// An ARG is a positional argument, parsed as a JSON value or, if it is not
// one, taken as a string (so 42, true, null, [1,2] and {"a":1} are JSON,
// and hello is "hello"), or, when it has the form key=value with key made
// of letters, digits and _, a keyword argument whose value is parsed the
// same way. Quote a string as JSON ('"a=b"') to pass it as a positional
// argument. Binary values follow the WAMP JSON convention both ways: a
// string "\u0000" followed by base64.
//
// call prints a result of exactly one positional value and no keyword
// values as that JSON value, nothing for an empty result, and
// {"args": [...], "kwargs": {...}} otherwise. subscribe prints one
// {"args": [...], "kwargs": {...}, "details": {...}} per event.
//
// register runs CMD for each invocation with the arguments on its standard
// input as one JSON line {"args": [...], "kwargs": {...}} and the
// procedure in $WAMP_PROCEDURE. Its standard output is the result: a JSON
// value is yielded as one positional value, other text as a string, and no
// output as an empty result. A non-zero exit answers ERROR
// wamp.error.runtime_error with CMD's standard error as its message and
// {"exit_code": N} as its keyword arguments. An INTERRUPT kills CMD.
//
// Flags may stand before or after the command name, before PROC or TOPIC.
// Authentication: --authid with --ticket (ticket), --secret (wampcra) or
// --private-key (cryptosign, a hex Ed25519 seed or private key); several
// may be offered at once, the router picks.
//
// Exit status: 0 success, 1 a WAMP error (its URI and arguments are printed
// to standard error), 2 a usage error, 3 a connection or join failure, or
// the session lost.
package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// Exit statuses.
const (
	exitOK      = 0
	exitWAMP    = 1
	exitUsage   = 2
	exitConnect = 3
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the flags every command takes.
type options struct {
	url        string
	realm      string
	serializer string
	timeout    time.Duration
	authid     string
	ticket     string
	secret     string
	privateKey string
	match      string
}

func (o *options) register(fs *flag.FlagSet) {
	fs.StringVar(&o.url, "url", "ws://127.0.0.1:8080/ws", "router `URL`: ws or wss (WebSocket), http or https (long-poll), rs or rss (raw socket over TCP or TLS), unix:///path (raw socket over a Unix socket)")
	fs.StringVar(&o.realm, "realm", "realm1", "`realm` to join")
	fs.StringVar(&o.serializer, "serializer", "json", "serializer: json, msgpack or cbor")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "bound on joining and on each call or publication")
	fs.StringVar(&o.authid, "authid", "", "authentication `ID`")
	fs.StringVar(&o.ticket, "ticket", "", "`ticket` for ticket authentication")
	fs.StringVar(&o.secret, "secret", "", "`secret` for WAMP-CRA authentication")
	fs.StringVar(&o.privateKey, "private-key", "", "Ed25519 key in `hex` (32-byte seed or 64-byte key) for cryptosign authentication")
	fs.StringVar(&o.match, "match", "", "match policy of subscribe and register: exact, prefix or wildcard")
}

const usage = `usage:
  wamp [flags] call PROC [ARG...]
  wamp [flags] publish TOPIC [ARG...]
  wamp [flags] subscribe TOPIC
  wamp [flags] register PROC -- CMD [ARG...]
An ARG is a JSON value (else a string) or key=JSON value (a keyword argument).
Exit status: 0 success, 1 WAMP error, 2 usage error, 3 connection or join failure.
flags:
`

// usageError is a command line mistake: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// connectError is a failure to connect or join, or the loss of the
// session: exit status 3.
type connectError struct{ err error }

func (e *connectError) Error() string { return e.err.Error() }
func (e *connectError) Unwrap() error { return e.err }

// run is wamp's main; it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("wamp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	o.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return exitUsage
	}
	cmd := fs.Arg(0)
	// Flags may follow the command name too.
	if err := fs.Parse(fs.Args()[1:]); err != nil {
		return exitUsage
	}
	err := dispatch(ctx, cmd, fs.Args(), &o, stdout, stderr)
	return report(err, stderr)
}

// report prints err and returns its exit status.
func report(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	if _, ok := errors.AsType[*usageError](err); ok {
		fmt.Fprintf(stderr, "wamp: %v\n%s", err, strings.SplitN(usage, "\nAn ARG", 2)[0]+"\n")
		return exitUsage
	}
	if _, ok := errors.AsType[*connectError](err); ok {
		fmt.Fprintf(stderr, "wamp: %v\n", err)
		return exitConnect
	}
	if werr, ok := errors.AsType[*wamp.Error](err); ok {
		fmt.Fprintf(stderr, "wamp: %s", werr.URI)
		if len(werr.Args) > 0 {
			fmt.Fprintf(stderr, " %s", jsonText(werr.Args))
		}
		if len(werr.Kwargs) > 0 {
			fmt.Fprintf(stderr, " %s", jsonText(werr.Kwargs))
		}
		fmt.Fprintln(stderr)
		return exitWAMP
	}
	fmt.Fprintf(stderr, "wamp: %v\n", err)
	return exitWAMP
}

func dispatch(ctx context.Context, cmd string, args []string, o *options, stdout, stderr io.Writer) error {
	switch cmd {
	case "call", "publish":
		if len(args) == 0 {
			return usagef("%s needs a URI", cmd)
		}
		pos, kw, err := parseArgs(args[1:])
		if err != nil {
			return err
		}
		if o.match != "" {
			return usagef("--match applies to subscribe and register, not %s", cmd)
		}
		s, err := join(ctx, o)
		if err != nil {
			return err
		}
		defer leave(s)
		if cmd == "call" {
			return call(ctx, s, o, wamp.URI(args[0]), pos, kw, stdout)
		}
		return publish(ctx, s, o, wamp.URI(args[0]), pos, kw)
	case "subscribe":
		if len(args) != 1 {
			return usagef("subscribe takes one topic, got %d arguments", len(args))
		}
		s, err := join(ctx, o)
		if err != nil {
			return err
		}
		defer leave(s)
		return subscribe(ctx, s, o, wamp.URI(args[0]), stdout)
	case "register":
		if len(args) < 2 {
			return usagef("register needs a procedure and a command: register PROC -- CMD [ARG...]")
		}
		command := args[1:]
		if command[0] == "--" {
			command = command[1:]
		}
		if len(command) == 0 {
			return usagef("register needs a command after --")
		}
		s, err := join(ctx, o)
		if err != nil {
			return err
		}
		defer leave(s)
		return register(ctx, s, o, wamp.URI(args[0]), command, stderr)
	}
	return usagef("unknown command %q (want call, publish, subscribe or register)", cmd)
}

// join connects and joins the realm, authenticating as the flags say.
func join(ctx context.Context, o *options) (*client.Session, error) {
	cfg := &client.Config{Serializer: o.serializer, AuthID: o.authid, ConnectTimeout: o.timeout}
	if _, ok := codec.ByName(o.serializer); !ok {
		return nil, usagef("unknown serializer %q (want json, msgpack or cbor)", o.serializer)
	}
	hooks := map[string]client.ChallengeFunc{}
	if o.privateKey != "" {
		key, err := parseKey(o.privateKey)
		if err != nil {
			return nil, err
		}
		cfg.AuthMethods = append(cfg.AuthMethods, "cryptosign")
		cfg.AuthExtra = client.CryptosignAuthExtra(key)
		hooks["cryptosign"] = client.CryptosignAuth(key)
	}
	if o.secret != "" {
		cfg.AuthMethods = append(cfg.AuthMethods, "wampcra")
		hooks["wampcra"] = client.CRAAuth(o.secret)
	}
	if o.ticket != "" {
		cfg.AuthMethods = append(cfg.AuthMethods, "ticket")
		hooks["ticket"] = client.TicketAuth(o.ticket)
	}
	if len(hooks) > 0 {
		cfg.OnChallenge = func(ctx context.Context, c *wamp.Challenge) (string, wamp.Dict, error) {
			h, ok := hooks[c.AuthMethod]
			if !ok {
				return "", nil, fmt.Errorf("the router asks for %s authentication, which was not offered", c.AuthMethod)
			}
			return h(ctx, c)
		}
	}
	jctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	s, err := client.Join(jctx, o.url, o.realm, cfg)
	if err != nil {
		if strings.Contains(err.Error(), "unsupported URL scheme") || strings.Contains(err.Error(), "no host in URL") {
			return nil, usagef("--url: %v", err)
		}
		return nil, &connectError{fmt.Errorf("cannot join realm %s at %s: %w", o.realm, o.url, err)}
	}
	return s, nil
}

func leave(s *client.Session) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s.Leave(ctx)
}

// parseKey reads a hex Ed25519 seed (32 bytes) or private key (64 bytes).
func parseKey(h string) (ed25519.PrivateKey, error) {
	b, err := hex.DecodeString(h)
	if err != nil {
		return nil, usagef("--private-key: not hex: %v", err)
	}
	switch len(b) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(b), nil
	case ed25519.PrivateKeySize:
		return ed25519.PrivateKey(b), nil
	}
	return nil, usagef("--private-key: %d bytes, want a 32-byte seed or a 64-byte private key", len(b))
}

// requestError classifies the error of a request: a lost session is a
// connection failure, a deadline a WAMP timeout, the rest as they are.
func requestError(ctx context.Context, s *client.Session, err error) error {
	switch {
	case errors.Is(err, client.ErrSessionClosed), errors.Is(err, client.ErrNotConnected):
		if ctx.Err() == nil {
			return &connectError{fmt.Errorf("session lost: %w", err)}
		}
	case errors.Is(err, context.DeadlineExceeded):
		return wamp.NewError(wamp.ErrTimeout, "no answer within --timeout")
	}
	select {
	case <-s.Done():
		if _, ok := errors.AsType[*wamp.Error](err); !ok && ctx.Err() == nil {
			return &connectError{fmt.Errorf("session lost: %w", err)}
		}
	default:
	}
	return err
}

func call(ctx context.Context, s *client.Session, o *options, proc wamp.URI, args wamp.List, kwargs wamp.Dict, stdout io.Writer) error {
	cctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	res, err := s.Call(cctx, proc, args, kwargs, client.WithTimeout(o.timeout))
	if err != nil {
		return requestError(cctx, s, err)
	}
	switch {
	case len(res.Args) == 0 && len(res.Kwargs) == 0:
	case len(res.Args) == 1 && len(res.Kwargs) == 0:
		fmt.Fprintln(stdout, jsonText(res.Args[0]))
	default:
		fmt.Fprintln(stdout, jsonObject("args", orEmptyList(res.Args), "kwargs", orEmptyDict(res.Kwargs)))
	}
	return nil
}

func publish(ctx context.Context, s *client.Session, o *options, topic wamp.URI, args wamp.List, kwargs wamp.Dict) error {
	pctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	if err := s.Publish(pctx, topic, args, kwargs, client.Acknowledge()); err != nil {
		return requestError(pctx, s, err)
	}
	return nil
}

func matchOptions(o *options) []client.Option {
	if o.match == "" {
		return nil
	}
	return []client.Option{client.Match(o.match)}
}

func subscribe(ctx context.Context, s *client.Session, o *options, topic wamp.URI, stdout io.Writer) error {
	events := make(chan string, 64)
	handler := func(ev *client.Event) {
		line := jsonObject("args", orEmptyList(ev.Args), "kwargs", orEmptyDict(ev.Kwargs), "details", orEmptyDict(ev.Details))
		select {
		case events <- line:
		case <-ctx.Done():
		}
	}
	sctx, cancel := context.WithTimeout(ctx, o.timeout)
	_, err := s.Subscribe(sctx, topic, handler, matchOptions(o)...)
	if err != nil {
		err = requestError(sctx, s, err)
	}
	cancel()
	if err != nil {
		return err
	}
	for {
		select {
		case line := <-events:
			if _, err := fmt.Fprintln(stdout, line); err != nil {
				return nil // the reader went away (a closed pipe): done
			}
		case <-ctx.Done():
			return nil
		case <-s.Done():
			return &connectError{fmt.Errorf("session lost: %v", s.Err())}
		}
	}
}

func orEmptyList(l wamp.List) wamp.List {
	if l == nil {
		return wamp.List{}
	}
	return l
}

func orEmptyDict(d wamp.Dict) wamp.Dict {
	if d == nil {
		return wamp.Dict{}
	}
	return d
}

// jsonObject is a JSON object of the key and value pairs kv, in order.
func jsonObject(kv ...any) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%s", kv[i], jsonText(kv[i+1]))
	}
	b.WriteByte('}')
	return b.String()
}

// jsonText is v in JSON, with the keys of objects sorted (stable output
// for scripts) and binary values in the WAMP convention: "\u0000" then
// base64.
func jsonText(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(withBinaryStrings(v)); err != nil {
		return fmt.Sprintf("%v", v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// withBinaryStrings returns v with every []byte replaced by its string in
// the WAMP JSON convention.
func withBinaryStrings(v any) any {
	switch v := v.(type) {
	case []byte:
		return "\x00" + base64.StdEncoding.EncodeToString(v)
	case wamp.List:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = withBinaryStrings(e)
		}
		return out
	case wamp.Dict:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = withBinaryStrings(e)
		}
		return out
	}
	return v
}
