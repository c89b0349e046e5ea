package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/nixgen/nixgen/internal/e2e"
)

// TestHelperLinksNoPrometheusClient: the helper writes its textfiles
// itself (internal/metrics); the Prometheus client and protobuf under it
// run initialisers on every start, which every boot-time preseed skip
// paid for (about 5 ms of the skip path's 60). A new import of them, even
// for one metric, shows here.
func TestHelperLinksNoPrometheusClient(t *testing.T) {
	goTool := e2e.Tool(t, "go")
	out, err := exec.Command(goTool, "list", "-tags", "urfave_cli_no_docs", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "github.com/prometheus/") || strings.HasPrefix(p, "google.golang.org/protobuf") {
			t.Errorf("nixgen-helper links %s", p)
		}
	}
}
