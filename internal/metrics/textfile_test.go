package metrics

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestTextfileMatchesPrometheusClient: the textfiles must stay what the
// Prometheus client wrote before the helper stopped linking it (node
// exporter parses them), so the same gauges go through both and the bytes
// must be equal, for awkward label values, help texts and numbers too.
func TestTextfileMatchesPrometheusClient(t *testing.T) {
	dir := t.TempDir()
	labels := [][2]string{{"unit", "a\\b\"c\nd"}, {"host", "h"}, {"service", "ünï cödé {x}"}}
	var gauges []Gauge
	reg := prometheus.NewPedanticRegistry()
	for i, v := range []float64{1, 0, -1, 0.02, 1795630827.5, 1e21, 12345678901234, math.NaN(), math.Inf(1), math.Inf(-1), 5e-324} {
		name := "nixgen_t_" + string(rune('z'-i))
		help := "Help with a \\ backslash and a\nnewline."
		gauges = append(gauges, Gauge{name, help, labels, v})
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, []string{"unit", "host", "service"})
		reg.MustRegister(g)
		g.WithLabelValues(labels[0][1], labels[1][1], labels[2][1]).Set(v)
	}
	want := filepath.Join(dir, "client.prom")
	if err := prometheus.WriteToTextfile(want, reg); err != nil {
		t.Fatal(err)
	}
	got := filepath.Join(dir, "ours.prom")
	if err := WriteTextfile(got, gauges); err != nil {
		t.Fatal(err)
	}
	w, _ := os.ReadFile(want)
	g, _ := os.ReadFile(got)
	if string(g) != string(w) {
		t.Errorf("textfile differs from the client's\nours:\n%s\nclient:\n%s", g, w)
	}
	st, err := os.Stat(got)
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v; want 0644", st.Mode(), err)
	}
	for _, name := range []string{"nixgen_t_y", "nixgen_t_v"} {
		v, ok, err := ReadGauge(got, name)
		if err != nil || !ok {
			t.Fatalf("ReadGauge(%s) = %v %v %v", name, v, ok, err)
		}
		if name == "nixgen_t_y" && v != 0 || name == "nixgen_t_v" && v != 1795630827.5 {
			t.Errorf("ReadGauge(%s) = %v", name, v)
		}
	}
	if _, ok, err := ReadGauge(got, "nixgen_t"); ok || err != nil {
		t.Errorf("a prefix of a metric name was read as the metric: %v %v", ok, err)
	}
}
