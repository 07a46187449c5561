//go:build !js

// Package clientcert reads what the accepting side of a TLS connection
// learned of its client into a transport.Info.
package clientcert

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"

	"github.com/wampkit/wampkit/transport"
)

// Fill records in info whether cs (nil for a plain connection) is TLS, and
// the client certificate's subject and fingerprint when the server's TLS
// config verified it: a certificate that was merely presented (as
// tls.RequestClientCert or tls.RequireAnyClientCert allow) names nobody.
func Fill(info *transport.Info, cs *tls.ConnectionState) {
	if cs == nil {
		return
	}
	info.TLS = true
	if len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return
	}
	leaf := cs.VerifiedChains[0][0]
	sum := sha256.Sum256(leaf.Raw)
	info.TLSClientSubject = leaf.Subject.CommonName
	info.TLSClientFingerprint = hex.EncodeToString(sum[:])
}
