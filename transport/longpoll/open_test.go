package longpoll

import (
	"strings"
	"testing"
)

func TestOpenBody(t *testing.T) {
	b, err := openBody([]string{"wamp.2.json.batched", "wamp.2.cbor"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"protocols":["wamp.2.json.batched","wamp.2.cbor"]}`; got != want {
		t.Errorf("openBody = %s, want %s", got, want)
	}
}

func TestParseOpenResponse(t *testing.T) {
	or, err := parseOpenResponse([]byte(` {"transport": "a\u00e9b", "protocol": "wamp.2.json", "extra": [1, {}]} `))
	if err != nil || or != (openResponse{Transport: "a\u00e9b", Protocol: "wamp.2.json"}) {
		t.Errorf("parseOpenResponse = %+v, %v", or, err)
	}
	or, err = parseOpenResponse([]byte(`{"protocol":"wamp.2.cbor"}`))
	if err != nil || or != (openResponse{Protocol: "wamp.2.cbor"}) {
		t.Errorf("without transport: %+v, %v", or, err)
	}
	for body, want := range map[string]string{
		`<html>`:                            "json",
		`["transport"]`:                     "not a JSON object",
		`{"transport":7}`:                   `"transport" is not a string`,
		`{"transport":"x","protocol":true}`: `"protocol" is not a string`,
		`{"transport":"x"} trailing`:        "json",
	} {
		if _, err := parseOpenResponse([]byte(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseOpenResponse(%s) = %v, want an error with %q", body, err, want)
		}
	}
}
