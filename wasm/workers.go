package main

import "sync/atomic"

// maxIdleWorkers is how many workers wait for work at most; more exit.
const maxIdleWorkers = 8

// workers runs functions on goroutines that outlive them. The way from a
// bridge function to a WebSocket send grows a goroutine's stack, and in
// WebAssembly growing a stack (copying it, frame by frame through the
// stack maps) costs more than the rest of a call: a goroutine that has
// grown once is worth keeping.
type workers struct {
	jobs chan func() // unbuffered: a send succeeds only to a waiting worker
	idle atomic.Int32
}

func newWorkers() *workers { return &workers{jobs: make(chan func())} }

// run runs f on an idle worker, or on a new one when none waits.
func (w *workers) run(f func()) {
	select {
	case w.jobs <- f:
	default:
		go w.work(f)
	}
}

// work runs f, then what run hands it, until enough others are idle.
func (w *workers) work(f func()) {
	for {
		f()
		if w.idle.Add(1) > maxIdleWorkers {
			w.idle.Add(-1)
			return
		}
		f = <-w.jobs
		w.idle.Add(-1)
	}
}
