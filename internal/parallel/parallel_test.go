package parallel

import (
	"runtime"
	"sync/atomic"
	"testing"
)

func TestForCallsEachIndexOnce(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	for _, n := range []int{0, 1, 3, 1000} {
		calls := make([]int, n)
		For(n, func(i int) { calls[i]++ })
		for i, c := range calls {
			if c != 1 {
				t.Fatalf("n=%d: index %d called %d times", n, i, c)
			}
		}
	}
}

// TestForRaisesPanicInCaller: a panic in one call reaches For's caller,
// where recover sees it, instead of ending the process.
func TestForRaisesPanicInCaller(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	defer func() {
		if p := recover(); p != "boom 7" {
			t.Errorf("recovered %v, want boom 7", p)
		}
	}()
	For(100, func(i int) {
		if i == 7 {
			panic("boom 7")
		}
	})
	t.Error("For returned after a panic")
}

func TestForWithGivesEachWorkerItsOwnState(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	for _, n := range []int{0, 1, 3, 1000} {
		calls := make([]int, n)
		owner := make([]*int, n)
		var states atomic.Int32
		ForWith(n, func() *int { states.Add(1); return new(int) }, func(s *int, i int) {
			*s++ // a data race (go test -race) if two workers shared s
			calls[i]++
			owner[i] = s
		})
		if n == 0 && states.Load() != 0 {
			t.Errorf("n=0: %d states made", states.Load())
		}
		total := map[*int]bool{}
		for i, c := range calls {
			if c != 1 {
				t.Fatalf("n=%d: index %d called %d times", n, i, c)
			}
			total[owner[i]] = true
		}
		sum := 0
		for s := range total {
			sum += *s
		}
		if sum != n || len(total) > 4 {
			t.Errorf("n=%d: %d states counted %d calls", n, len(total), sum)
		}
	}
}
