package metrics

import (
	"os"
	"testing"
	"time"
)

func TestReplicationLagCarriesTheLastSuccess(t *testing.T) {
	dir := t.TempDir()
	file := ReplicationFile(dir, "app")
	// A failure with nothing recorded yet writes nothing: the lag is unknown.
	l := ReplicationLag{Host: "h", Service: "app", Now: time.Unix(1000, 0)}
	if err := WriteReplicationLag(dir, &l); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("a failure with no earlier success wrote %s (%v)", file, err)
	}
	// A success records the snapshot time and its age ...
	l = ReplicationLag{Host: "h", Service: "app", Newest: time.Unix(900, 0), Now: time.Unix(1000, 0)}
	if err := WriteReplicationLag(dir, &l); err != nil {
		t.Fatal(err)
	}
	check := func(ts, lag float64) {
		t.Helper()
		if v, ok, err := ReadGauge(file, "nixgen_replication_last_snapshot_timestamp_seconds"); err != nil || !ok || v != ts {
			t.Errorf("timestamp = %v %v %v, want %v", v, ok, err, ts)
		}
		if v, ok, err := ReadGauge(file, "nixgen_replication_lag_seconds"); err != nil || !ok || v != lag {
			t.Errorf("lag = %v %v %v, want %v", v, ok, err, lag)
		}
	}
	check(900, 100)
	// ... and a later failure keeps the time while the lag grows.
	l = ReplicationLag{Host: "h", Service: "app", Now: time.Unix(4600, 0)}
	if err := WriteReplicationLag(dir, &l); err != nil {
		t.Fatal(err)
	}
	check(900, 3700)
	if l.Newest.Unix() != 900 {
		t.Errorf("carried-over time not reported: %v", l.Newest)
	}
	// A service name that is not one file name is refused.
	if err := WriteReplicationLag(dir, &ReplicationLag{Service: "../x", Newest: time.Unix(1, 0)}); err == nil {
		t.Error("service ../x accepted")
	}
}
