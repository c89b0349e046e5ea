package datasets

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/zfstest"
)

func TestApplyKeepsReplicasUnmountable(t *testing.T) {
	p := zfstest.NewPool(t)
	ctx := context.Background()
	parent := p.Name + "/services"
	m := testManifest(p, parent, manifest.Service{Name: "app"})
	// Received from another host: one that exists (canmount inherited "on"),
	// one below the services parent that is already right, one not yet sent.
	got := p.Name + "/backup/web"
	p.ZFS(t, "create", "-p", "-o", "mountpoint="+p.Path("replica"), got)
	inParent := parent + "/from-other"
	p.ZFS(t, "create", "-p", "-o", "mountpoint=none", "-o", "canmount=noauto", inParent)
	m.Replicas = []manifest.Replica{
		{Dataset: got, Source: "web1:tank/services/web"},
		{Dataset: inParent, Source: "web1:tank/services/x"},
		{Dataset: p.Name + "/backup/notyet", Source: "web1:tank/services/y"},
	}

	tr := &tracer{}
	res, err := Apply(ctx, tr.runner(), m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v := p.Prop(t, got, "canmount"); v != "noauto" {
		t.Errorf("%s canmount = %s, want noauto", got, v)
	}
	if strings.Join(res.Plan.MissingReplicas, ",") != p.Name+"/backup/notyet" {
		t.Errorf("missing replicas %v", res.Plan.MissingReplicas)
	}
	if p.Exists(p.Name + "/backup/notyet") {
		t.Error("a missing replica was created")
	}
	var replicaSets []string
	for _, c := range tr.changing() {
		if strings.Contains(c, "canmount") {
			replicaSets = append(replicaSets, c)
		}
	}
	if len(replicaSets) != 1 || !strings.HasSuffix(replicaSets[0], "set canmount=noauto "+got) {
		t.Errorf("canmount changes %q, want one on %s", replicaSets, got)
	}
	// The replica stayed as it was otherwise: still mounted where it was.
	if v := p.Prop(t, got, "mountpoint"); v != p.Path("replica") {
		t.Errorf("replica mountpoint changed to %s", v)
	}

	// Idempotent, and the plan names the skipped replica.
	plan, err := Make(ctx, tr.runner(), m)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Actions) != 0 {
		t.Errorf("second plan: %+v", plan.Actions)
	}
	var out bytes.Buffer
	WriteText(&out, plan)
	if !strings.Contains(out.String(), "replica "+p.Name+"/backup/notyet has not been received yet") {
		t.Errorf("plan text:\n%s", out.String())
	}
}
