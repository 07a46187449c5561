package browsertests

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
)

// demoTransports are the ways a demo page connects: by default (WebSocket
// first) and forced long-poll with ?transport=longpoll.
var demoTransports = []struct{ name, query string }{
	{"websocket", ""},
	{"longpoll", "?transport=longpoll"},
}

// q quotes a CSS selector for document.querySelector in a JS condition.
func q(sel string) string { return "document.querySelector(" + js(sel) + ")" }

// TestDemoRPC drives /demo/rpc by clicks in two tabs: each joins under a
// name, each sees the other in its peer list, bob's greet and add buttons
// call alice's procedures, and bob's page shows the result and the round
// trip time while alice's lists the calls it answered. The transport badge
// shows the transport. Screenshots of both tabs are test artifacts.
func TestDemoRPC(t *testing.T) {
	for _, tr := range demoTransports {
		t.Run(tr.name, func(t *testing.T) {
			e := newEnv(t, envConfig{})
			tabs := openTabs(t, "alice", "bob")
			alice, bob := tabs[0], tabs[1]
			for _, tb := range tabs {
				tb.open(e.url("/demo/rpc" + tr.query))
				tb.do(
					chromedp.SendKeys(chromedp.CSS("#name"), tb.name),
					chromedp.Click(chromedp.CSS("#join")),
				)
			}
			for _, tb := range tabs {
				tb.waitFor(q("#me") + ".textContent === " + js(tb.name) + " && " + q("#status") + ".dataset.state === 'open'")
				if got := tb.text("#transport"); got != tr.name {
					t.Errorf("tab %s: transport badge %q, want %q", tb.name, got, tr.name)
				}
			}
			alice.waitFor(q(`#peers li[data-peer="bob"]`) + " !== null")
			bob.waitFor(q(`#peers li[data-peer="alice"]`) + " !== null")

			bob.do(chromedp.Click(chromedp.CSS(`#peers li[data-peer="alice"] button.greet`)))
			bob.waitFor(q("#result") + ".dataset.proc === 'demo.rpc.alice.greet'")
			bob.expect(`const r = document.querySelector('#result'); return [r.dataset.ok, r.textContent];`,
				`["true", "Hello bob, this is alice"]`)
			checkRTT(t, bob)
			alice.waitFor(q("#calls li") + "?.textContent === 'bob called greet'")

			bob.do(chromedp.Click(chromedp.CSS(`#peers li[data-peer="alice"] button.add`)))
			bob.waitFor(q("#result") + ".dataset.proc === 'demo.rpc.alice.add'")
			sum := bob.text("#result")
			m := regexp.MustCompile(`^(\d+) \+ (\d+) = (\d+)$`).FindStringSubmatch(sum)
			if m == nil {
				t.Errorf("add result %q, want \"A + B = C\"", sum)
			} else if x, y, z := atoi(m[1]), atoi(m[2]), atoi(m[3]); x+y != z {
				t.Errorf("add result %q: wrong sum", sum)
			}
			checkRTT(t, bob)
			alice.waitFor(q("#calls li") + "?.textContent === 'bob called add'")

			alice.screenshot("rpc-" + tr.name + "-alice")
			bob.screenshot("rpc-" + tr.name + "-bob")
		})
	}
}

// checkRTT checks that #rtt shows a positive round trip time in ms.
func checkRTT(t *testing.T, tb *tab) {
	t.Helper()
	text := tb.text("#rtt")
	if !regexp.MustCompile(`^\d+\.\d ms$`).MatchString(text) {
		t.Errorf("tab %s: round trip %q, want \"N.N ms\"", tb.name, text)
	}
	var ms float64
	if err := json.Unmarshal(tb.run(`return Number(document.querySelector('#rtt').dataset.ms);`), &ms); err != nil || ms <= 0 {
		t.Errorf("tab %s: #rtt data-ms = %v (%v), want > 0", tb.name, ms, err)
	}
}

// TestDemoBoard drives /demo/board by clicks in two tabs: a note added in
// one appears in the other, both ways, and a note removed in one goes from
// the other; both count two tabs and the transport badge shows the
// transport. Screenshots of both tabs are test artifacts.
func TestDemoBoard(t *testing.T) {
	for _, tr := range demoTransports {
		t.Run(tr.name, func(t *testing.T) {
			e := newEnv(t, envConfig{})
			tabs := openTabs(t, "one", "two")
			one, two := tabs[0], tabs[1]
			ready := q("#status") + ".dataset.state === 'open' && " + q("#status") + ".dataset.synced === 'true' && !" + q("#add") + ".disabled"
			for _, tb := range tabs {
				tb.open(e.url("/demo/board" + tr.query))
			}
			for _, tb := range tabs {
				tb.waitFor(ready)
				tb.waitFor(q("#tabs") + ".textContent === '2'")
				if got := tb.text("#transport"); got != tr.name {
					t.Errorf("tab %s: transport badge %q, want %q", tb.name, got, tr.name)
				}
			}

			add := func(tb *tab, text string) {
				tb.do(chromedp.SendKeys(chromedp.CSS("#text"), text), chromedp.Click(chromedp.CSS("#add")))
			}
			notes := `return [...document.querySelectorAll('#items li')].map((li) =>
				[li.querySelector('.text').textContent, li.querySelector('.by').textContent]);`
			hasNote := func(text string) string {
				return fmt.Sprintf(`[...document.querySelectorAll('#items li .text')].some((s) => s.textContent === %s)`, js(text))
			}

			add(one, "milk from one")
			two.waitFor(hasNote("milk from one"))
			add(two, "bread from two")
			one.waitFor(hasNote("bread from two"))
			one.expect(notes, `[["milk from one", "you"], ["bread from two", `+js(two.text("#me"))+`]]`)
			two.expect(notes, `[["milk from one", `+js(one.text("#me"))+`], ["bread from two", "you"]]`)

			one.screenshot("board-" + tr.name + "-one")
			two.screenshot("board-" + tr.name + "-two")

			// one removes two's note; it goes from two's board.
			one.do(chromedp.Click(chromedp.CSS(`#items li:nth-child(2) button.remove`)))
			two.waitFor("!" + hasNote("bread from two"))
			two.expect(notes, `[["milk from one", `+js(one.text("#me"))+`]]`)
		})
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s) // s matched \d+
	return n
}
