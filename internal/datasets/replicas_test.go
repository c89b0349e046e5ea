package datasets

import (
	"bytes"
	"context"
	"os"
	"os/exec"
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
	// Received from another host: one that exists (canmount inherited "on",
	// received with its nixgen:replica-of), one below the services parent
	// that is already right, one not yet sent.
	got := p.Name + "/backup/web"
	p.ZFS(t, "create", "-p", "-o", "mountpoint="+p.Path("replica"), "-o", PropReplicaOf+"=web1:tank/services/web", got)
	inParent := parent + "/from-other"
	p.ZFS(t, "create", "-p", "-o", "mountpoint=none", "-o", "canmount=noauto", "-o", PropReplicaOf+"=web1:tank/services/x", inParent)
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

// Issue 6: a replication target naming a dataset nixgen does not manage
// (here pool/home, with data and its own snapshots) must not be touched:
// the plan lists it, apply changes nothing on it. A local replica that
// shares a snapshot (by guid) with its source on this host is proven, and
// gets nixgen:replica-of so that later runs need no guid comparison.
func TestApplyTouchesOnlyProvenReplicas(t *testing.T) {
	p := zfstest.NewPool(t)
	ctx := context.Background()
	parent := p.Name + "/services"
	m := testManifest(p, parent, manifest.Service{Name: "app"})
	home := p.Name + "/home"
	p.ZFS(t, "create", "-o", "mountpoint="+p.Path("home"), home)
	if err := os.WriteFile(p.Path("home", "notes"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	p.ZFS(t, "snapshot", home+"@daily")
	// A local replication: source on this host, received by send | receive.
	src := p.Name + "/src"
	p.ZFS(t, "create", "-o", "mountpoint="+p.Path("src"), src)
	p.ZFS(t, "snapshot", src+"@syncoid_test_2025-01-01:00:00:00")
	local := p.Name + "/backup-local"
	if out, err := exec.Command("sh", "-c", "zfs send \"$1\" | zfs receive \"$2\"", "sh", src+"@syncoid_test_2025-01-01:00:00:00", local).CombinedOutput(); err != nil {
		t.Fatalf("send | receive: %v: %s", err, out)
	}
	other := p.Name + "/other"
	p.ZFS(t, "create", "-o", "mountpoint=none", other)
	m.Replicas = []manifest.Replica{
		{Dataset: home, Source: m.Host + ":" + p.Name + "/services/app"}, // a local target naming pool/home
		{Dataset: local, Source: m.Host + ":" + src},
		{Dataset: other, Source: "web1:tank/services/y"}, // remote, no property: unproven
	}
	before := map[string]string{}
	for _, prop := range []string{"canmount", "mountpoint", PropReplicaOf} {
		before[prop] = p.Prop(t, home, prop)
	}
	plan, err := Make(ctx, (&tracer{}).runner(), m)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	WriteText(&out, plan)
	for _, want := range []string{"leave alone: " + home + " is not provably a replica", "leave alone: " + other + " is not provably a replica"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("plan text lacks %q:\n%s", want, out.String())
		}
	}
	for _, a := range plan.Actions {
		if a.Dataset == home {
			t.Errorf("plan touches %s: %+v", home, a)
		}
	}
	tr := &tracer{}
	if _, err := Apply(ctx, tr.runner(), m, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range tr.changing() {
		if strings.HasSuffix(c, " "+home) {
			t.Errorf("apply changed %s: %s", home, c)
		}
	}
	for prop, v := range before {
		if got := p.Prop(t, home, prop); got != v {
			t.Errorf("%s %s = %q, was %q", home, prop, got, v)
		}
	}
	if b, err := os.ReadFile(p.Path("home", "notes")); err != nil || string(b) != "mine" || !p.Exists(home+"@daily") {
		t.Errorf("pool/home lost data: %q %v", b, err)
	}
	if v := p.Prop(t, local, "canmount"); v != "noauto" {
		t.Errorf("proven local replica canmount = %s", v)
	}
	if v := p.Prop(t, local, PropReplicaOf); v != m.Host+":"+src {
		t.Errorf("proven local replica %s = %q", PropReplicaOf, v)
	}
}
