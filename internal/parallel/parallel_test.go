package parallel

import (
	"runtime"
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
