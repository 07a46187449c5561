package main

import (
	"flag"
	"fmt"
	"maps"
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
	fs.StringVar(&b.realm, "bridge-realm", "", "serve the HTTP bridge (POST /publish, POST /call) in `realm`; needs a --bridge-key or the config file's bridge.keys")
	fs.StringVar(&b.role, "bridge-role", "http-bridge", "the authrole of the HTTP bridge's session")
	fs.Var(&b.keys, "bridge-key", "an HTTP bridge key as `id:secret`, or id:@file to read the secret from a file (repeatable)")
}

// config returns the bridge's configuration: the configuration file's
// (file, nil when it has none) with the flags applied over it, or nil
// when neither asks for a bridge. --bridge-realm replaces the file's
// realm, --bridge-role its role when roleGiven, and --bridge-key adds
// keys to the file's.
func (b *bridgeOptions) config(file *server.BridgeConfig, roleGiven bool) (*server.BridgeConfig, error) {
	if file == nil && b.realm == "" && len(b.keys) == 0 {
		return nil, nil
	}
	cfg := &server.BridgeConfig{AuthRole: b.role}
	if file != nil {
		*cfg = *file
		if roleGiven {
			cfg.AuthRole = b.role
		}
	}
	cfg.Keys = maps.Clone(cfg.Keys)
	if cfg.Keys == nil {
		cfg.Keys = map[string]string{}
	}
	if b.realm != "" {
		cfg.Realm = wamp.URI(b.realm)
	}
	if cfg.Realm == "" {
		return nil, fmt.Errorf("--bridge-key needs --bridge-realm")
	}
	if len(cfg.Keys) == 0 && len(b.keys) == 0 {
		return nil, fmt.Errorf("--bridge-realm needs at least one --bridge-key id:secret")
	}
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
			return nil, fmt.Errorf("--bridge-key %s given twice, or also in the configuration file's bridge.keys", id)
		}
		cfg.Keys[id] = secret
	}
	return cfg, nil
}
