package browsertests

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/wamp"
)

// TestRevocationReachesPage: a Go session removes the page's registration
// (wamp.registration.remove_callee) and subscription
// (wamp.subscription.remove_subscriber). The page hears each revocation
// with the router's reason, through onrevoked and the revoked promise;
// calls to the procedure then fail with wamp.error.no_such_procedure, and
// the revoked subscription's handler gets no more events while a new
// subscription to the topic does.
func TestRevocationReachesPage(t *testing.T) {
	e := newEnv(t, envConfig{})
	page := openTabs(t, "page")[0]
	page.open(e.url("/test/harness.html"))
	page.expect(connectJS(`transports: ['websocket']`), `"websocket"`)
	out := page.run(`window.R = await S.register('com.test.revocable', () => 'alive');
		R.onrevoked = (reason) => note('onrevoked', 'registration ' + reason);
		R.revoked.then((reason) => note('revoked', 'registration ' + reason));
		window.U = await S.subscribe('com.test.news', (args) => note('news', args[0]));
		U.onrevoked = (reason) => note('onrevoked', 'subscription ' + JSON.stringify(reason));
		U.revoked.then((reason) => note('revoked', 'subscription ' + JSON.stringify(reason)));
		return [S.id, R.id, U.id];`)
	var ids [3]wamp.ID
	if err := json.Unmarshal(out, &ids); err != nil {
		t.Fatalf("the page's IDs %s: %v", out, err)
	}
	pageID, regID, subID := ids[0], ids[1], ids[2]

	admin, err := client.Join(t.Context(), e.wsURL(), realm, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Leave(context.Background())
	ctx := t.Context()
	if r, err := admin.Call(ctx, "com.test.revocable", nil, nil); err != nil || len(r.Args) != 1 || r.Args[0] != "alive" {
		t.Fatalf("call before the revocation: %v, %v", r, err)
	}
	if err := admin.Publish(ctx, "com.test.news", wamp.List{"first"}, nil, client.Acknowledge()); err != nil {
		t.Fatal(err)
	}
	page.waitFor(`noted('news').length === 1`)

	// The registration, with a reason.
	if _, err := admin.Call(ctx, "wamp.registration.remove_callee", wamp.List{regID, pageID, "com.test.maintenance"}, nil); err != nil {
		t.Fatalf("wamp.registration.remove_callee: %v", err)
	}
	page.waitFor(`noted('onrevoked').length === 1 && noted('revoked').length === 1`)
	page.expect(`return [noted('onrevoked'), noted('revoked')];`,
		`[["registration com.test.maintenance"], ["registration com.test.maintenance"]]`)
	page.expect(`const r = await attempt(S.call('com.test.revocable'));
		const u = await attempt(R.unregister());
		return [r.error.uri, u.error.class, u.error.message];`,
		`["wamp.error.no_such_procedure", "Error", "wampkit: unregister: not a live registration of this session"]`)
	_, err = admin.Call(ctx, "com.test.revocable", nil, nil)
	if we, ok := errors.AsType[*wamp.Error](err); !ok || we.URI != wamp.ErrNoSuchProcedure {
		t.Errorf("Go call after the revocation: %v, want %s", err, wamp.ErrNoSuchProcedure)
	}

	// The subscription, without a reason.
	if _, err := admin.Call(ctx, "wamp.subscription.remove_subscriber", wamp.List{subID, pageID}, nil); err != nil {
		t.Fatalf("wamp.subscription.remove_subscriber: %v", err)
	}
	page.waitFor(`noted('onrevoked').length === 2 && noted('revoked').length === 2`)
	page.expect(`return [noted('onrevoked')[1], noted('revoked')[1]];`, `["subscription \"\"", "subscription \"\""]`)
	page.run(`await S.subscribe('com.test.news', (args) => note('news again', args[0]));`)
	if err := admin.Publish(ctx, "com.test.news", wamp.List{"second"}, nil, client.Acknowledge()); err != nil {
		t.Fatal(err)
	}
	// Events reach a session's handlers in order: had the revoked handler
	// kept its place, it would have had "second" by the time the new one
	// has it.
	page.waitFor(`noted('news again').length === 1`)
	page.expect(`return [noted('news'), noted('news again')];`, `[["first"], ["second"]]`)
	page.expect(`const u = await attempt(U.unsubscribe()); return u.error.message;`,
		`"wampkit: unsubscribe: not a live subscription of this session"`)
}
