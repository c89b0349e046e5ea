// Package parallel runs independent steps of one job on every CPU.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// For calls f(i) for every i in [0, n), on up to GOMAXPROCS goroutines, and
// returns when all calls have returned. Each f must write only to what
// belongs to its i (a slot of a slice made beforehand), so the result does
// not depend on the order the calls run in. A panic in f is raised again
// in the caller once every worker has stopped, as it would be without the
// goroutines (a panic in a goroutine would end the process).
func For(n int, f func(i int)) {
	ForWith(n, func() struct{} { return struct{}{} }, func(_ struct{}, i int) { f(i) })
}

// ForWith is For with a state per worker goroutine: each goroutine calls
// newState once (so newState must be safe to call concurrently) and passes
// its state to f with every index it runs. It is for what the calls may
// reuse but not share (a buffer, a template whose function table every call
// locks). newState runs on its worker's goroutine so that what it allocates
// comes from that worker's processor: two states made one after the other on
// one goroutine would sit side by side in memory, and workers writing to
// neighbouring words (a lock's reader count, say) slow each other down as
// much as if they shared them.
func ForWith[S any](n int, newState func() S, f func(s S, i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		if n > 0 {
			s := newState()
			for i := range n {
				f(s, i)
			}
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var panicked any
	for range workers {
		wg.Go(func() {
			defer func() {
				if p := recover(); p != nil {
					once.Do(func() { panicked = p })
					next.Store(int64(n)) // the others stop after their current call
				}
			}()
			s := newState()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				f(s, i)
			}
		})
	}
	wg.Wait()
	if panicked != nil {
		panic(panicked)
	}
}
