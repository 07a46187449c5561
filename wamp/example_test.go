package wamp_test

import (
	"fmt"

	"github.com/wampkit/wampkit/wamp"
)

func ExampleValidURI() {
	for _, u := range []wamp.URI{"com.example.add", "com.Example.add", "com..add", "com.exa mple"} {
		fmt.Printf("%-17q loose=%v strict=%v pattern=%v\n", u,
			wamp.ValidURI(u, false, false), wamp.ValidURI(u, true, false), wamp.ValidURI(u, false, true))
	}
	// Output:
	// "com.example.add" loose=true strict=true pattern=true
	// "com.Example.add" loose=true strict=false pattern=true
	// "com..add"        loose=false strict=false pattern=true
	// "com.exa mple"    loose=false strict=false pattern=false
}
