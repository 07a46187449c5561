package main

import (
	"flag"
	"fmt"
	"net"
	"runtime"

	"github.com/wampkit/wampkit/transport/admission"
)

// admissionOptions are the flags that pace connections which prove
// nothing (see transport/admission).
type admissionOptions struct {
	rate  float64 // --admit-rate
	burst int     // --admit-burst
}

func (o *admissionOptions) register(fs *flag.FlagSet) {
	fs.Float64Var(&o.rate, "admit-rate", admission.DefaultRatePerCPU*float64(runtime.GOMAXPROCS(0)),
		"accept at most this many `connections` per second past --admit-burst on each TCP port, counting only those on which no session joins or whose session breaks the protocol; the others wait in the kernel's accept queue, so that a flood of them leaves the sessions their CPU (0: no limit; default: 200 per CPU)")
	fs.IntVar(&o.burst, "admit-burst", admission.DefaultBurst, "how many such `connections` a TCP port accepts at once before --admit-rate paces them")
}

// check reports a flag out of range.
func (o admissionOptions) check() error {
	switch {
	case o.rate < 0:
		return fmt.Errorf("--admit-rate: %v is negative", o.rate)
	case o.burst < 1:
		return fmt.Errorf("--admit-burst: %d is less than 1", o.burst)
	}
	return nil
}

// listener returns l behind an admission.Listener, or l itself when
// --admit-rate is 0.
func (o admissionOptions) listener(l net.Listener) net.Listener {
	if o.rate == 0 {
		return l
	}
	return admission.NewListener(l, o.rate, o.burst)
}
