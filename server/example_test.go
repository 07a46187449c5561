package server_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"strings"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/server"
	"github.com/wampkit/wampkit/wamp"
)

// Example runs a router in-process, registers a procedure from one
// session and calls it from another: the README's Go example.
func Example() {
	router, err := server.New(server.Config{Realms: []server.RealmConfig{{Name: "realm1"}}})
	if err != nil {
		log.Fatal(err)
	}
	defer router.Close()
	hs := httptest.NewServer(router.Handler(server.HTTPConfig{}))
	defer hs.Close()
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"

	ctx := context.Background()
	callee, err := client.Join(ctx, url, "realm1", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer callee.Leave(ctx)
	_, err = callee.Register(ctx, "com.example.add", func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
		a, ok1 := wamp.AsInt(inv.Args[0])
		b, ok2 := wamp.AsInt(inv.Args[1])
		if !ok1 || !ok2 {
			return nil, wamp.NewError(wamp.ErrInvalidArgument, "add takes two integers")
		}
		return &client.Result{Args: wamp.List{a + b}}, nil
	})
	if err != nil {
		log.Fatal(err)
	}

	caller, err := client.Join(ctx, url, "realm1", &client.Config{Serializer: "msgpack"})
	if err != nil {
		log.Fatal(err)
	}
	defer caller.Leave(ctx)
	res, err := caller.Call(ctx, "com.example.add", wamp.List{2, 3}, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Args[0])

	_, err = caller.Call(ctx, "com.example.add", wamp.List{"two", 3}, nil)
	fmt.Println(err)
	// Output:
	// 5
	// wamp.error.invalid_argument: add takes two integers
}
