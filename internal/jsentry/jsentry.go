//go:build js

// Package jsentry is what the direct entries from JavaScript into
// wamp.wasm share: functions marked //go:wasmexport, which the shim
// calls with numbers, its data written into Go's memory. Such a call
// costs a few microseconds where a js.FuncOf callback costs tens in
// Chrome (syscall/js reads the event and each argument property by
// property, every string through a TextEncoder). But it runs only the
// function called: Drain then runs the goroutines that it made ready, and
// the shim resumes Go soon after, off the call's path, as Go's own
// timeouts do, so that the timers set meanwhile get their JavaScript
// timeouts (only a resume schedules them: Go does when it goes idle).
//
// An entry must never wait for JavaScript (a promise, an event): the Go
// runtime cannot pause inside it and the program would crash.
package jsentry

import (
	"runtime"
	"runtime/metrics"
	"unsafe"
)

// Sizes of the buffer that JavaScript writes into; the shim mirrors them.
const (
	keptBuffer = 64 << 10 // kept between entries
	minBuffer  = 4 << 10
)

// buf is where JavaScript writes the data of an entry: it asks buffer for
// room (once, and again only when it needs more), writes, and calls the
// entry, which reads it with Bytes and copies what it keeps. JavaScript
// runs one entry at a time, so one buffer does.
var buf []byte

// buffer returns the address of at least n bytes for JavaScript to write
// into, valid until the next call of buffer: the shim writes the data of
// every entry there until it needs more room. A buffer grown past
// keptBuffer for a large message is dropped at the next small one.
//
//go:wasmexport wampkit_buffer
func buffer(n int32) int32 {
	if n < 0 {
		return 0
	}
	if int(n) > cap(buf) || (cap(buf) > keptBuffer && int(n) <= keptBuffer) {
		buf = make([]byte, max(int(n), minBuffer))
	}
	buf = buf[:cap(buf)]
	return int32(uintptr(unsafe.Pointer(unsafe.SliceData(buf))))
}

// Bytes returns the first n bytes that JavaScript wrote into the buffer,
// valid until the next entry: copy what must last. ok is false when n is
// out of range.
func Bytes(n int32) (b []byte, ok bool) {
	if n < 0 || int(n) > len(buf) {
		return nil, false
	}
	return buf[:n], true
}

// Addr returns the address of b's bytes in Go's memory, for JavaScript to
// read during the call that it is passed to (0 for no bytes).
func Addr(b []byte) int {
	if len(b) == 0 {
		return 0
	}
	return int(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
}

// drainRounds bounds Drain, should goroutines keep each other busy: the
// shim's later resume of Go runs what is left.
const drainRounds = 1000

// runnable reads how many goroutines wait to run.
var runnable = []metrics.Sample{{Name: "/sched/goroutines/runnable:goroutines"}}

// Drain runs the goroutines that are ready to run until none is, as an
// entry through syscall/js does before it returns to JavaScript. Call it
// at the end of an entry.
func Drain() {
	for range drainRounds {
		metrics.Read(runnable)
		if v := runnable[0].Value; v.Kind() == metrics.KindUint64 && v.Uint64() == 0 {
			return
		}
		runtime.Gosched()
	}
}
