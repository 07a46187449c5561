package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/wamp"
)

// Case 18's URIs: the same in every realm.
const (
	isoTopic  wamp.URI = isoPrefix + "topic"
	isoEcho   wamp.URI = isoPrefix + "echo"
	isoOnlyA  wamp.URI = isoPrefix + "only_a" // registered in realm only
	isoAdmin  wamp.URI = isoPrefix + "admin"
	spoofName          = "admin"    // the authid and authrole spoofers claim
	spoofID            = 4242424242 // the session ID they claim
	// attackPause is the pause between two rounds of one attacker.
	attackPause = 20 * time.Millisecond
)

// tally counts the attempts of case 18 and what went wrong: leaks (an
// attempt reached what it must not, or an identity it must not have) and
// wrong answers (refused, but not as documented).
type tally struct {
	attempts, leaks, wrong atomic.Int64
	checked                atomic.Int64 // spoofed messages delivered and judged by their receivers

	mu       sync.Mutex
	examples []string // the first few leaks and wrong answers
}

func (t *tally) note(n *atomic.Int64, format string, args ...any) {
	n.Add(1)
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.examples) < 3 {
		t.examples = append(t.examples, fmt.Sprintf(format, args...))
	}
}

func (t *tally) leak(format string, args ...any)  { t.note(&t.leaks, format, args...) }
func (t *tally) badly(format string, args ...any) { t.note(&t.wrong, format, args...) }

// refused judges an attempt that must fail with one of uris.
func (t *tally) refused(what string, err error, uris ...wamp.URI) {
	t.attempts.Add(1)
	if err == nil {
		t.leak("%s succeeded", what)
		return
	}
	if we, ok := errors.AsType[*wamp.Error](err); !ok || !slices.Contains(uris, we.URI) {
		t.badly("%s: %v, not %v", what, err, uris)
	}
}

// figure is "N attempts: L leaks, W wrong answers" and the examples.
func (t *tally) figure() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := fmt.Sprintf("%d attempts: %d leaks, %d wrong answers", t.attempts.Load(), t.leaks.Load(), t.wrong.Load())
	if n := t.checked.Load(); n > 0 {
		s += fmt.Sprintf("; %d spoofed messages delivered, what the router disclosed judged by their receivers", n)
	}
	if len(t.examples) > 0 {
		s += fmt.Sprintf(" %q", t.examples)
	}
	return s
}

func (t *tally) clean() bool { return t.leaks.Load() == 0 && t.wrong.Load() == 0 }

// isoJoin joins realm over WebSocket or (odd i) long-poll, JSON or
// MessagePack; cfg may set authentication.
func isoJoin(ctx context.Context, e *env, i int, realmName string, cfg client.Config) (*client.Session, error) {
	url := e.r.wsURL()
	if i%2 == 1 {
		url = e.r.lpURL()
	}
	if i/2%2 == 1 {
		cfg.Serializer = "msgpack"
	}
	return client.Join(ctx, url, realmName, &cfg)
}

// spoofArgs are the arguments of a spoofer's call or publication: its
// real identity, for the receiver to check what the router disclosed.
func spoofArgs(s *client.Session, disclose bool) wamp.List {
	d := s.Details()
	return wamp.List{"spoof", int64(s.ID()), d["authid"], d["authrole"], disclose}
}

// judgeDisclosed checks what the router disclosed, under key ("caller" or
// "publisher"), of a spoofer whose spoofArgs are args: its real identity
// if it asked for disclosure, nothing otherwise, and never what it
// claimed.
func judgeDisclosed(t *tally, args wamp.List, details wamp.Dict, key string) {
	t.checked.Add(1)
	if len(args) != 5 {
		t.badly("spoofed %s arrived with args %v", key, args)
		return
	}
	for k, v := range details {
		if v == spoofName || asInt(v) == spoofID {
			t.leak("%s details disclose the claimed %s=%v", key, k, v)
			return
		}
	}
	if disclose, _ := args[4].(bool); disclose {
		if asInt(details[key]) != asInt(args[1]) || details[key+"_authid"] != args[2] || details[key+"_authrole"] != args[3] {
			t.leak("%s asked to be disclosed as %v, details say %v", key, args[1:4], details)
		}
		return
	}
	for _, k := range []string{key, key + "_authid", key + "_authrole"} {
		if _, ok := details[k]; ok {
			t.leak("%s not disclosed, yet details hold %s=%v", key, k, details[k])
		}
	}
}

// spoofOptions are a spoofer's options: someone else's identity, under
// every key the router could read it from.
func spoofOptions(key string, disclose bool) []client.Option {
	opts := []client.Option{
		client.WithOption(key, int64(spoofID)),
		client.WithOption(key+"_authid", spoofName),
		client.WithOption(key+"_authrole", spoofName),
		client.WithOption("authid", spoofName),
		client.WithOption("authrole", spoofName),
	}
	if disclose {
		opts = append(opts, client.DiscloseMe())
	}
	return opts
}

// Case 18: realm isolation and identity spoofing (issue 5's security
// checks) while sessions of realm publish and call: sessions of realmB
// reach for realm's procedures, topics and sessions; sessions claim
// identities in HELLO and in their options; wrong tickets for realmSecure.
func caseIsolation(e *env) []row {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	var mu sync.Mutex
	var sessions []*client.Session
	defer func() {
		lctx, lcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer lcancel()
		for _, s := range sessions {
			s.Leave(lctx)
		}
	}()
	join := func(i int, realmName string, cfg client.Config) (*client.Session, error) {
		s, err := isoJoin(ctx, e, i, realmName, cfg)
		if err == nil {
			mu.Lock()
			sessions = append(sessions, s)
			mu.Unlock()
		}
		return s, err
	}
	var iso, spoof tally

	// Realm: a callee, two subscribers and the load.
	callee, err := join(0, realm, client.Config{})
	if err != nil {
		return []row{errRow("realm1 callee", err)}
	}
	echoA := func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		if len(inv.Args) > 0 && inv.Args[0] == "spoof" {
			judgeDisclosed(&spoof, inv.Args, inv.Details, "caller")
		}
		return &client.Result{Args: append(slices.Clone(inv.Args), "A")}, nil
	}
	if _, err := callee.Register(ctx, isoEcho, echoA); err != nil {
		return []row{errRow("register", err)}
	}
	onlyA, err := callee.Register(ctx, isoOnlyA, echoA)
	if err != nil {
		return []row{errRow("register", err)}
	}
	var events atomic.Int64
	onEventA := func(ev *client.Event) {
		switch {
		case len(ev.Args) > 0 && ev.Args[0] == "A":
			events.Add(1)
		case len(ev.Args) > 0 && ev.Args[0] == "spoof":
			judgeDisclosed(&spoof, ev.Args, ev.Details, "publisher")
		default:
			iso.leak("a realm1 subscriber got %v", ev.Args)
		}
	}
	var subA *client.Subscription
	for i := range 2 {
		s, err := join(i+1, realm, client.Config{})
		if err != nil {
			return []row{errRow("realm1 subscriber", err)}
		}
		if subA, err = s.Subscribe(ctx, isoTopic, onEventA); err != nil {
			return []row{errRow("subscribe", err)}
		}
	}
	loaders := e.n(10, 4)
	var load []*client.Session
	for i := range 2 * loaders {
		s, err := join(i, realm, client.Config{})
		if err != nil {
			return []row{errRow("realm1 load", err)}
		}
		load = append(load, s)
	}
	idsA := map[int64]bool{int64(callee.ID()): true}
	for _, s := range load {
		idsA[int64(s.ID())] = true
	}

	// RealmB: the same URIs, a callee and subscribers (exact, prefix,
	// wildcard) of its own.
	bCallee, err := join(1, realmB, client.Config{})
	if err != nil {
		return []row{errRow("realm2 callee", err)}
	}
	if _, err := bCallee.Register(ctx, isoEcho, func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		return &client.Result{Args: append(slices.Clone(inv.Args), "B")}, nil
	}); err != nil {
		return []row{errRow("realm2 register", fmt.Errorf("the URI realm1 has: %w", err))}
	}
	for i, sub := range []struct {
		topic wamp.URI
		match string
	}{{isoTopic, ""}, {"stress.", "prefix"}, {"stress..topic", "wildcard"}} {
		s, err := join(i, realmB, client.Config{})
		if err != nil {
			return []row{errRow("realm2 subscriber", err)}
		}
		var opts []client.Option
		if sub.match != "" {
			opts = append(opts, client.Match(sub.match))
		}
		if _, err := s.Subscribe(ctx, sub.topic, func(ev *client.Event) {
			if len(ev.Args) == 0 || ev.Args[0] != "B" {
				iso.leak("a realm2 subscriber to %s got %v", sub.topic, ev.Args)
			}
		}, opts...); err != nil {
			return []row{errRow("realm2 subscribe", err)}
		}
	}
	attackers := make([]*client.Session, e.n(10, 4))
	for i := range attackers {
		if attackers[i], err = join(i, realmB, client.Config{}); err != nil {
			return []row{errRow("realm2 session", err)}
		}
	}
	realmBSessions := int64(len(attackers) + 4)

	// RealmSecure: a ticket user's callee and subscriber.
	loader := client.Config{AuthID: "loader", AuthMethods: []string{"ticket"}, OnChallenge: client.TicketAuth(ticketLoader)}
	secCallee, err := join(0, realmSecure, loader)
	if err != nil {
		return []row{errRow("stress.secure callee", err)}
	}
	echoSecure := func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		if len(inv.Args) > 0 && inv.Args[0] == "spoof" {
			judgeDisclosed(&spoof, inv.Args, inv.Details, "caller")
		}
		return &client.Result{Args: inv.Args}, nil
	}
	for _, p := range []wamp.URI{isoEcho, isoAdmin} {
		if _, err := secCallee.Register(ctx, p, echoSecure); err != nil {
			return []row{errRow("stress.secure register", err)}
		}
	}
	if _, err := secCallee.Subscribe(ctx, isoTopic, func(ev *client.Event) {
		if len(ev.Args) > 0 && ev.Args[0] == "spoof" {
			judgeDisclosed(&spoof, ev.Args, ev.Details, "publisher")
		}
	}); err != nil {
		return []row{errRow("stress.secure subscribe", err)}
	}

	// The load: publishers and callers in realm, until the attacks end.
	loadCtx, stopLoad := context.WithCancel(ctx)
	var loadCalls, loadErrs atomic.Int64
	var loadErr atomic.Value
	var loadWG sync.WaitGroup
	for k, s := range load {
		loadWG.Go(func() {
			t := time.NewTicker(20 * time.Millisecond)
			defer t.Stop()
			for seq := int64(0); ; seq++ {
				select {
				case <-t.C:
				case <-loadCtx.Done():
					return
				}
				var err error
				if k%2 == 0 {
					err = s.Publish(loadCtx, isoTopic, wamp.List{"A", int64(k), seq}, nil, client.Acknowledge())
				} else {
					var res *client.Result
					res, err = s.Call(loadCtx, isoEcho, wamp.List{"A", int64(k), seq}, nil)
					if err == nil && (len(res.Args) != 4 || res.Args[3] != "A" || asInt(res.Args[2]) != seq) {
						iso.leak("a realm1 call was answered %v", res.Args)
					}
					loadCalls.Add(1)
				}
				if err != nil && loadCtx.Err() == nil {
					loadErrs.Add(1)
					loadErr.CompareAndSwap(nil, err)
				}
			}
		})
	}

	rounds := e.n(20, 5)
	var attacks sync.WaitGroup
	for _, s := range attackers {
		attacks.Go(func() {
			reachAcross(ctx, &iso, s, rounds, idsA, realmBSessions, int64(onlyA.ID()), int64(subA.ID()), int64(callee.ID()))
		})
	}
	var claims atomic.Int64
	spoofers := e.n(4, 2)
	for i := range spoofers {
		attacks.Go(func() { spoofRealm(ctx, e, &spoof, &claims, i, rounds, join) })
	}
	var tickets ticketTally
	attacks.Go(func() { tickets.guess(ctx, e, e.n(500, 100)) })
	attacks.Wait()
	stopLoad()
	loadWG.Wait()
	// What is in flight reaches the subscribers and callees now.
	time.Sleep(200 * time.Millisecond)

	loadFig := fmt.Sprintf("load in realm1 meanwhile (%d sessions): %d calls, %d events seen by 2 subscribers, %d errors", len(load), loadCalls.Load(), events.Load(), loadErrs.Load())
	if v := loadErr.Load(); v != nil {
		loadFig += fmt.Sprintf(", first: %v", v)
	}
	for _, s := range load {
		select {
		case <-s.Done():
			loadFig += fmt.Sprintf("; session %d was closed: %v", s.ID(), s.Err())
			loadErrs.Add(1)
		default:
		}
	}
	return []row{
		check(fmt.Sprintf("realm isolation, %d realm2 sessions x %d rounds (calls to realm1's procedures and meta procedures on its sessions, registrations and subscriptions; the same URIs registered, published and subscribed exact, prefix and wildcard in realm2): %s",
			len(attackers), rounds, iso.figure()), "0 leaks, documented errors", iso.clean()),
		check(fmt.Sprintf("identity spoofing, %d HELLOs claiming authid/authrole, then CALLs, PUBLISHes and forbidden actions with claimed identities: %s",
			claims.Load(), spoof.figure()), "0 leaks, documented errors", spoof.clean()),
		tickets.row(),
		check(loadFig, "0 errors, calls and events delivered", loadErrs.Load() == 0 && loadCalls.Load() > 0 && events.Load() > 0),
	}
}

// reachAcross is one realmB session's attempts at realm: its procedures,
// its sessions, registrations and subscriptions through the meta API;
// and the URIs both realms have.
func reachAcross(ctx context.Context, t *tally, s *client.Session, rounds int, idsA map[int64]bool, realmBSessions, regA, subA, calleeA int64) {
	var some int64
	for id := range idsA {
		some = id
		break
	}
	for r := range rounds {
		// At a steady pace, beside the load, rather than all at once.
		time.Sleep(attackPause)
		_, err := s.Call(ctx, isoOnlyA, nil, nil)
		t.refused("calling realm1's "+string(isoOnlyA), err, wamp.ErrNoSuchProcedure)
		_, err = s.Call(ctx, controlProc, wamp.List{r}, nil)
		t.refused("calling realm1's "+controlProc, err, wamp.ErrNoSuchProcedure)
		_, err = s.Call(ctx, "wamp.session.get", wamp.List{some}, nil)
		t.refused("wamp.session.get of a realm1 session", err, wamp.ErrNoSuchSession)
		_, err = s.Call(ctx, "wamp.session.kill", wamp.List{some}, nil)
		t.refused("wamp.session.kill of a realm1 session", err, wamp.ErrNoSuchSession)
		_, err = s.Call(ctx, "wamp.registration.get", wamp.List{regA}, nil)
		t.refused("wamp.registration.get of a realm1 registration", err, wamp.ErrNoSuchRegistration)
		_, err = s.Call(ctx, "wamp.registration.remove_callee", wamp.List{regA, calleeA}, nil)
		t.refused("wamp.registration.remove_callee of realm1's callee", err, wamp.ErrNoSuchRegistration, wamp.ErrNoSuchSession)
		_, err = s.Call(ctx, "wamp.subscription.get", wamp.List{subA}, nil)
		t.refused("wamp.subscription.get of a realm1 subscription", err, wamp.ErrNoSuchSubscription)

		// Answers that must hold nothing of realm.
		t.attempts.Add(4)
		if res, err := s.Call(ctx, isoEcho, wamp.List{"B", r}, nil); err != nil {
			t.badly("calling %s in realm2: %v", isoEcho, err)
		} else if len(res.Args) != 3 || res.Args[2] != "B" {
			t.leak("%s in realm2 answered %v", isoEcho, res.Args)
		}
		if res, err := s.Call(ctx, "wamp.registration.lookup", wamp.List{string(isoOnlyA)}, nil); err != nil {
			t.badly("wamp.registration.lookup: %v", err)
		} else if len(res.Args) != 1 || res.Args[0] != nil {
			t.leak("wamp.registration.lookup of realm1's %s in realm2 answered %v", isoOnlyA, res.Args)
		}
		if res, err := s.Call(ctx, "wamp.session.list", nil, nil); err != nil {
			t.badly("wamp.session.list: %v", err)
		} else if len(res.Args) != 1 {
			t.badly("wamp.session.list answered %v", res.Args)
		} else if l, _ := res.Args[0].(wamp.List); int64(len(l)) > realmBSessions || slices.ContainsFunc(l, func(v any) bool { return idsA[asInt(v)] }) {
			t.leak("wamp.session.list in realm2 answered %v", res.Args)
		}
		if err := s.Publish(ctx, isoTopic, wamp.List{"B", r}, nil, client.Acknowledge()); err != nil {
			t.badly("publishing in realm2: %v", err)
		}
	}
}

// spoofRealm is spoofer i's attempts: HELLOs claiming an identity in
// realm (anonymous) and realmSecure (anonymous claiming a user, and a user
// claiming a role), then what each session does with that identity.
func spoofRealm(ctx context.Context, e *env, t *tally, claims *atomic.Int64, i, rounds int, join func(int, string, client.Config) (*client.Session, error)) {
	claim := wamp.Dict{"authrole": spoofName, "authprovider": "static"}
	kinds := []struct {
		realm    string
		cfg      client.Config
		authid   func(string) bool // the authid WELCOME may give
		authrole string
	}{
		{realm, client.Config{AuthID: spoofName, HelloDetails: claim},
			func(id string) bool { return id != spoofName }, "anonymous"},
		{realmSecure, client.Config{AuthID: "loader", AuthMethods: []string{"anonymous"}, HelloDetails: claim},
			func(id string) bool { return id != "loader" && id != spoofName }, roleGuest},
		{realmSecure, client.Config{AuthID: "loader", AuthMethods: []string{"ticket"}, OnChallenge: client.TicketAuth(ticketLoader), HelloDetails: claim},
			func(id string) bool { return id == "loader" }, roleUser},
	}
	for _, k := range kinds {
		claims.Add(1)
		t.attempts.Add(1)
		s, err := join(i, k.realm, k.cfg)
		if err != nil {
			t.badly("joining %s claiming %v: %v", k.realm, claim, err)
			continue
		}
		d := s.Details()
		if id, _ := d["authid"].(string); !k.authid(id) || d["authrole"] != k.authrole {
			t.leak("joined %s claiming authid %q, authrole %q: WELCOME says authid %v, authrole %v", k.realm, k.cfg.AuthID, spoofName, d["authid"], d["authrole"])
			continue
		}
		for r := range rounds {
			time.Sleep(attackPause)
			disclose := r%2 == 1
			if k.authrole == roleGuest {
				// A guest may subscribe under isoPublic only.
				_, err := s.Call(ctx, isoAdmin, nil, nil, spoofOptions("caller", disclose)...)
				t.refused("a guest calling "+string(isoAdmin), err, wamp.ErrNotAuthorized)
				err = s.Publish(ctx, isoTopic, wamp.List{"spoof"}, nil, append(spoofOptions("publisher", disclose), client.Acknowledge())...)
				t.refused("a guest publishing to "+string(isoTopic), err, wamp.ErrNotAuthorized)
				_, err = s.Subscribe(ctx, isoTopic, func(*client.Event) { t.leak("a guest got an event of %s", isoTopic) })
				t.refused("a guest subscribing to "+string(isoTopic), err, wamp.ErrNotAuthorized)
				_, err = s.Register(ctx, isoPrefix+"guest", func(context.Context, *client.Invocation) (*client.Result, error) { return nil, nil })
				t.refused("a guest registering", err, wamp.ErrNotAuthorized)
				_, err = s.Call(ctx, "wamp.session.list", nil, nil)
				t.refused("a guest calling wamp.session.list", err, wamp.ErrNotAuthorized)
				continue
			}
			// The receivers judge what the router disclosed.
			t.attempts.Add(2)
			if _, err := s.Call(ctx, isoEcho, spoofArgs(s, disclose), nil, spoofOptions("caller", disclose)...); err != nil {
				t.badly("calling %s with claimed caller options: %v", isoEcho, err)
			}
			if err := s.Publish(ctx, isoTopic, spoofArgs(s, disclose), nil, append(spoofOptions("publisher", disclose), client.Acknowledge())...); err != nil {
				t.badly("publishing with claimed publisher options: %v", err)
			}
		}
	}
}

// ticketTally counts case 18's wrong tickets.
type ticketTally struct {
	attempts, welcomed, challenged, limited, errs atomic.Int64
	addrs                                         int

	mu       sync.Mutex
	firstErr error
	known    map[string]int // what a known authid was answered, and how often
	unknown  map[string]int // the same for unknown authids
}

// guess joins realmSecure n times with a wrong ticket, from many loopback
// addresses, so that most attempts reach the ticket check before the
// per-address rate limit: 1 in 20 for the known user alice (whose own
// rate limit then applies), the others for random unknown authids.
func (t *ticketTally) guess(ctx context.Context, e *env, n int) {
	const addrs = 250
	t.addrs = min(n, addrs)
	t.known, t.unknown = map[string]int{}, map[string]int{}
	parallel(n, 4, func(i int) {
		time.Sleep(attackPause)
		authid := "alice"
		if i%20 != 0 {
			authid = "nobody-" + rand.Text()[:8]
		}
		src := net.IPv4(127, 0, 1, byte(1+i%addrs))
		answer, err := wrongTicket(ctx, e.r.wsURL(), src, authid)
		t.attempts.Add(1)
		t.mu.Lock()
		defer t.mu.Unlock()
		switch {
		case err != nil:
			t.errs.Add(1)
			if t.firstErr == nil {
				t.firstErr = err
			}
		case strings.Contains(answer, "WELCOME"):
			t.welcomed.Add(1)
		case strings.Contains(answer, "too many failed"):
			t.limited.Add(1)
		default:
			t.challenged.Add(1)
			if authid == "alice" {
				t.known[answer]++
			} else {
				t.unknown[answer]++
			}
		}
	})
}

// wrongTicket joins realmSecure as authid with a wrong ticket, from the
// loopback address src, and describes the router's answers ("CHALLENGE
// ticket, ABORT wamp.error.authentication_failed").
func wrongTicket(ctx context.Context, url string, src net.IP, authid string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: src}}
	r, err := dialRaw(ctx, url, &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}, "json")
	if err != nil {
		return "", err
	}
	defer r.close()
	hello := &wamp.Hello{Realm: realmSecure, Details: wamp.Dict{"roles": wamp.Dict{"caller": wamp.Dict{}},
		"authmethods": wamp.List{"ticket"}, "authid": authid}}
	if err := r.send(ctx, hello); err != nil {
		return "", err
	}
	var answers []string
	for {
		m, err := r.recv(5 * time.Second)
		if err != nil {
			return "", fmt.Errorf("after %q: %s", answers, closeReason(err))
		}
		switch m := m.(type) {
		case *wamp.Challenge:
			answers = append(answers, "CHALLENGE "+m.AuthMethod)
			if err := r.send(ctx, &wamp.Authenticate{Signature: "wrong-" + rand.Text(), Extra: wamp.Dict{}}); err != nil {
				return "", err
			}
			continue
		case *wamp.Abort:
			answers = append(answers, "ABORT "+string(m.Reason))
			if msg, _ := m.Details["message"].(string); strings.Contains(msg, "too many failed") {
				answers = append(answers, "too many failed attempts")
			}
		default:
			answers = append(answers, m.Type().String())
		}
		return strings.Join(answers, ", "), nil
	}
}

func (t *ticketTally) row() row {
	t.mu.Lock()
	defer t.mu.Unlock()
	alike := len(t.known) > 0 && len(t.known) == len(t.unknown)
	for a := range t.known {
		alike = alike && t.unknown[a] > 0
	}
	fig := fmt.Sprintf("wrong tickets: %d attempts from %d loopback addresses, 1 in 20 for the known user alice: %d WELCOME, %d refused after the ticket check, %d by the rate limit, %d errors; known and unknown users answered alike (%v): %v",
		t.attempts.Load(), t.addrs, t.welcomed.Load(), t.challenged.Load(), t.limited.Load(), t.errs.Load(), keys(t.unknown), alike)
	if t.firstErr != nil {
		fig += fmt.Sprintf("; first error: %v", t.firstErr)
	}
	return check(fig, "0 WELCOME, no user enumeration", t.welcomed.Load() == 0 && t.errs.Load() == 0 && alike)
}

// keys lists a map's keys in order.
func keys(m map[string]int) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
