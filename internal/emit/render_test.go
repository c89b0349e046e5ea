package emit

import (
	"os"
	"testing"
)

func TestRenderDump(t *testing.T) {
	if os.Getenv("DUMP") == "" {
		t.Skip()
	}
	out, err := Render(richSpec(3))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"forge/default.nix", "forge/datasets.nix", "forge/protection.nix", "forge/services/svc00000.nix", "forge/services/svc00001.nix", "forge/services/svc00002.nix", "forge/manifest.json"} {
		t.Logf("==== %s\n%s", k, out[k])
	}
}
