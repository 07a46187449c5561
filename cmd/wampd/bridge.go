package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/wampkit/wampkit/server"
	"github.com/wampkit/wampkit/wamp"
)

// bridgeOptions are the flags of the HTTP bridge (POST /publish, /call).
type bridgeOptions struct {
	realm string
	role  string
	keys  stringList
}

func (b *bridgeOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&b.realm, "bridge-realm", "", "serve the HTTP bridge (POST /publish, POST /call) in `realm`; needs --bridge-key")
	fs.StringVar(&b.role, "bridge-role", "http-bridge", "the authrole of the HTTP bridge's session")
	fs.Var(&b.keys, "bridge-key", "an HTTP bridge key as `id:secret`, or id:@file to read the secret from a file (repeatable)")
}

// config returns the bridge's configuration, or nil when no bridge is
// asked for.
func (b *bridgeOptions) config() (*server.BridgeConfig, error) {
	if b.realm == "" && len(b.keys) == 0 {
		return nil, nil
	}
	if b.realm == "" {
		return nil, fmt.Errorf("--bridge-key needs --bridge-realm")
	}
	if len(b.keys) == 0 {
		return nil, fmt.Errorf("--bridge-realm needs at least one --bridge-key id:secret")
	}
	cfg := &server.BridgeConfig{Realm: wamp.URI(b.realm), AuthRole: b.role, Keys: map[string]string{}}
	for _, k := range b.keys {
		id, secret, ok := strings.Cut(k, ":")
		if !ok || id == "" || secret == "" {
			return nil, fmt.Errorf("--bridge-key: want id:secret or id:@file")
		}
		if file, ok := strings.CutPrefix(secret, "@"); ok {
			data, err := os.ReadFile(file)
			if err != nil {
				return nil, fmt.Errorf("--bridge-key %s: %w", id, err)
			}
			secret = strings.TrimSpace(string(data))
		}
		if _, dup := cfg.Keys[id]; dup {
			return nil, fmt.Errorf("--bridge-key %s given twice", id)
		}
		cfg.Keys[id] = secret
	}
	return cfg, nil
}
