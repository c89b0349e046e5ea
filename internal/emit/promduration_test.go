package emit

import (
	"math/rand/v2"
	"testing"
	"time"

	prommodel "github.com/prometheus/common/model"
)

// promDuration must write what the Prometheus client's model.Duration
// writes (and Prometheus parses): the thresholds of alerts.rules.yml.
func TestPromDurationMatchesPrometheus(t *testing.T) {
	ds := []time.Duration{0, time.Millisecond, 999 * time.Microsecond, time.Second, 90 * time.Second,
		time.Hour, 36 * time.Hour, 7 * 24 * time.Hour, 8 * 24 * time.Hour, 90 * 24 * time.Hour,
		365 * 24 * time.Hour, 366 * 24 * time.Hour, 2 * 365 * 24 * time.Hour, 14 * 24 * time.Hour,
		-time.Hour, -(7*24*time.Hour + time.Second), 1500 * time.Millisecond}
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		ds = append(ds, time.Duration(r.Int64N(int64(3*365*24*time.Hour))))
		ds = append(ds, time.Duration(r.Int64N(3*365*24))*time.Hour, time.Duration(r.Int64N(3*365))*24*time.Hour)
	}
	for _, d := range ds {
		if got, want := promDuration(d), prommodel.Duration(d).String(); got != want {
			t.Errorf("promDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
