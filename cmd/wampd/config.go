package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/wampkit/wampkit/server"
	"github.com/wampkit/wampkit/wamp"
)

// configFile is the shape of wampd's JSON configuration file.
type configFile struct {
	// Listen is the HTTP address, overridden by --addr.
	Listen string `json:"listen"`
	// AllowedOrigins are browser Origin host patterns allowed besides
	// same-origin.
	AllowedOrigins []string `json:"allowed_origins"`
	// StrictURIs accepts only strict URIs.
	StrictURIs bool `json:"strict_uris"`
	// Limits bound what one peer may cost the router.
	Limits struct {
		MaxMessageSize  int64 `json:"max_message_size"`
		HelloTimeoutMS  int64 `json:"hello_timeout_ms"`
		MaxQueuedBytes  int   `json:"max_queued_bytes"`
		MaxPendingCalls int   `json:"max_pending_calls"`
		PingIntervalMS  int64 `json:"ping_interval_ms"`
	} `json:"limits"`
	// Realms are the realms served.
	Realms []struct {
		Name string `json:"name"`
	} `json:"realms"`
}

func loadConfigFile(path string) (*configFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var fc configFile
	if err := dec.Decode(&fc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for i, r := range fc.Realms {
		if !wamp.ValidURI(wamp.URI(r.Name), fc.StrictURIs, false) {
			return nil, fmt.Errorf("%s: realms[%d].name: invalid realm URI %q", path, i, r.Name)
		}
	}
	return &fc, nil
}

func (fc *configFile) apply(cfg server.Config, hc server.HTTPConfig) (server.Config, server.HTTPConfig) {
	cfg.StrictURIs = fc.StrictURIs
	cfg.MaxMessageSize = fc.Limits.MaxMessageSize
	cfg.HelloTimeout = msDuration(fc.Limits.HelloTimeoutMS)
	cfg.MaxQueuedBytes = fc.Limits.MaxQueuedBytes
	cfg.MaxPendingCalls = fc.Limits.MaxPendingCalls
	cfg.PingInterval = msDuration(fc.Limits.PingIntervalMS)
	for _, r := range fc.Realms {
		cfg.Realms = append(cfg.Realms, server.RealmConfig{Name: wamp.URI(r.Name)})
	}
	hc.OriginPatterns = append(hc.OriginPatterns, fc.AllowedOrigins...)
	return cfg, hc
}

func msDuration(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }
