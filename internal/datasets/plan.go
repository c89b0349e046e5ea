// Package datasets makes a host's ZFS datasets match its manifest: it reads
// the pool state in a constant number of zfs calls, decides in Go what
// differs, and then creates missing datasets, sets drifted properties,
// mounts, and fixes the owner and mode of each mountpoint root. It never
// destroys or renames anything, leaves undeclared properties alone, and
// reports (instead of touching) create-time-only properties that differ.
//
// Every check runs before the first change: a plan that hits a problem
// (pool not imported, unknown user, a volume where a filesystem belongs, a
// mountpoint below a symlink or a directory another user can write) fails
// as a whole with a *PreconditionError.
package datasets

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/owner"
	"github.com/nixgen/nixgen/internal/rules"
	"github.com/nixgen/nixgen/internal/safefs"
	"github.com/nixgen/nixgen/internal/zfs"
)

// Kind names what an action does.
type Kind string

const (
	CreateParent Kind = "create-parent" // zfs create -p -o mountpoint=none PARENT
	Create       Kind = "create"        // zfs create -p -o mountpoint=... -o k=v ... NAME
	Set          Kind = "set"           // zfs set k=v NAME
	Mount        Kind = "mount"         // zfs mount NAME
	Chown        Kind = "chown"         // owner of the mountpoint root
	Chmod        Kind = "chmod"         // mode of the mountpoint root
)

// Action is one change apply will make.
type Action struct {
	Kind     Kind              `json:"kind"`
	Service  string            `json:"service,omitempty"`
	Dataset  string            `json:"dataset"`
	Property string            `json:"property,omitempty"` // set
	From     string            `json:"from,omitempty"`     // set, chown, chmod: current state ("" if not known yet)
	Source   string            `json:"source,omitempty"`   // set: where the current value comes from ("default", "inherited from X", "-")
	To       string            `json:"to,omitempty"`       // set, chown, chmod: wanted state
	Props    map[string]string `json:"props,omitempty"`    // create, create-parent: every -o option
	Path     string            `json:"path,omitempty"`     // mount, chown, chmod: the mountpoint
	Parents  bool              `json:"parents,omitempty"`  // create: -p, some ancestor below the parent is missing too
	User     string            `json:"user,omitempty"`     // allow-local, allow-create: the receive user

	uid, gid int    // chown
	mode     uint32 // chmod
}

// Refusal is a create-time-only property whose value differs from the
// manifest on an existing dataset. ZFS cannot change it; apply leaves it.
type Refusal struct {
	Service  string `json:"service"`
	Dataset  string `json:"dataset"`
	Property string `json:"property"`
	Have     string `json:"have"`
	Want     string `json:"want"`
}

// Plan is what apply would do.
type Plan struct {
	Pool       string    `json:"pool"`
	PoolHealth string    `json:"pool_health"`
	Parent     string    `json:"parent"`
	Actions    []Action  `json:"actions"`
	Refused    []Refusal `json:"refused"`
	// MissingReplicas are manifest replicas not received yet (skipped).
	MissingReplicas []string `json:"missing_replicas"`
	// UnprovenReplicas have a replica's name but cannot be shown to have
	// been received from its source: left alone.
	UnprovenReplicas []UnprovenReplica `json:"unproven_replicas"`

	tree   zfs.Tree          // the state the plan was made from
	owners map[string][2]int // service name -> uid, gid
}

// ZFSActions counts the actions that run zfs.
func (p *Plan) ZFSActions() int {
	n := 0
	for _, a := range p.Actions {
		if a.Kind != Chown && a.Kind != Chmod {
			n++
		}
	}
	return n
}

// PreconditionError lists every problem found before any change was made.
type PreconditionError struct {
	Problems []string
}

func (e *PreconditionError) Error() string {
	return "nothing was changed:\n  " + strings.Join(e.Problems, "\n  ")
}

// healthy pool states: a degraded pool still serves writes.
var usableHealth = map[string]bool{"ONLINE": true, "DEGRADED": true}

// readProps is what the bulk read asks for besides the declared properties.
var readProps = []string{"type", "mountpoint", "mounted"}

// Make reads the state (one zpool call and one bulk zfs get) and works out
// what apply must do. The manifest must already be validated (manifest.Decode).
func Make(ctx context.Context, r *zfs.Runner, m *manifest.Manifest) (*Plan, error) {
	// Protected host datasets are never created or changed.
	m = m.Managed()
	p := &Plan{Pool: m.Parent.Pool, Parent: m.Parent.Dataset, Actions: []Action{}, Refused: []Refusal{}}
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }

	// Owners first: they need no zfs call, and an unknown user must stop the
	// run even when the pool is fine.
	owners := make(map[string][2]int, len(m.Services))
	for _, s := range m.Services {
		uid, gid, err := owner.Lookup(s.User, s.Group)
		if err != nil {
			bad("service %s: %v", s.Name, err)
			continue
		}
		owners[s.Name] = [2]int{uid, gid}
	}
	// zfs creates and mounts on a path, and the owner and mode are set
	// there: no other user may be able to redirect any part of it.
	for _, s := range m.Services {
		if err := safefs.CheckAncestors(s.Mountpoint, safefs.Strict); err != nil {
			bad("service %s: mountpoint %s: %v, so another user could redirect it", s.Name, s.Mountpoint, err)
		}
	}

	health, err := r.PoolHealth(ctx, m.Parent.Pool)
	switch {
	case zfs.NotExist(err):
		bad("pool %s is not imported (zpool list: %v)", m.Parent.Pool, err)
		return nil, &PreconditionError{Problems: problems}
	case err != nil:
		return nil, fmt.Errorf("checking pool %s: %w", m.Parent.Pool, err)
	case !usableHealth[health]:
		bad("pool %s is %s, not ONLINE or DEGRADED", m.Parent.Pool, health)
		return nil, &PreconditionError{Problems: problems}
	}
	p.PoolHealth = health

	tree, err := r.GetTree(ctx, m.Parent.Dataset, propList(m)...)
	switch {
	case zfs.NotExist(err):
		tree = zfs.Tree{}
	case err != nil:
		return nil, fmt.Errorf("reading datasets under %s: %w", m.Parent.Dataset, err)
	}
	p.tree, p.owners = tree, owners
	mounts, err := zfs.Mounts()
	if err != nil {
		return nil, err
	}
	problems = append(problems, p.decide(m, owners, rootStat(mounts))...)
	if len(problems) > 0 {
		return nil, &PreconditionError{Problems: problems}
	}
	if err := p.planReplicas(ctx, r, m); err != nil {
		return nil, err
	}
	if err := p.planReceive(ctx, r, m); err != nil {
		return nil, err
	}
	return p, nil
}

// statFunc reads the owner and mode of a mountpoint root (rootStat; tests
// substitute their own).
type statFunc func(path, dataset string) (*syscall.Stat_t, error)

// decide compares the manifest with p.tree and fills in the actions and
// refusals. It starts no process; it returns the problems that forbid any
// change.
func (p *Plan) decide(m *manifest.Manifest, owners map[string][2]int, stat statFunc) (problems []string) {
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	tree := p.tree
	if d := tree[m.Parent.Dataset]; d == nil {
		p.Actions = append(p.Actions, Action{
			Kind: CreateParent, Dataset: m.Parent.Dataset,
			Props: map[string]string{"mountpoint": "none"},
		})
	} else if d.Type() != "filesystem" {
		bad("parent %s exists as a %s, not a filesystem", m.Parent.Dataset, d.Type())
	}

	// Dataset order, so that a dataset nested in another is created after it.
	svcs := append([]manifest.Service(nil), m.Services...)
	sort.Slice(svcs, func(i, j int) bool { return svcs[i].Dataset < svcs[j].Dataset })
	var after []Action // owner and mode come after every zfs change
	// -p only where an ancestor is missing: on an existing dataset
	// `zfs create -p` succeeds silently and would hide a racing creation.
	exists := map[string]bool{m.Parent.Dataset: true}
	for name := range tree {
		exists[name] = true
	}
	for _, s := range svcs {
		d := tree[s.Dataset]
		if d != nil && d.Type() != "filesystem" {
			bad("service %s: %s exists as a %s, not a filesystem; it is left alone", s.Name, s.Dataset, d.Type())
			continue
		}
		own, ok := owners[s.Name]
		if !ok {
			continue // already reported
		}
		known := false // whether the mountpoint root can be inspected now
		if d == nil {
			props := map[string]string{"mountpoint": s.Mountpoint}
			for k, v := range s.Properties {
				props[k] = v
			}
			p.Actions = append(p.Actions, Action{Kind: Create, Service: s.Name, Dataset: s.Dataset, Path: s.Mountpoint, Props: props,
				Parents: !exists[path.Dir(s.Dataset)]})
			exists[s.Dataset] = true
		} else {
			p.diff(s, d)
			known = d.Props["mounted"].Value == "yes" && d.Props["mountpoint"].Value == s.Mountpoint
			if d.Props["mounted"].Value != "yes" {
				p.Actions = append(p.Actions, Action{Kind: Mount, Service: s.Name, Dataset: s.Dataset, Path: s.Mountpoint})
			}
		}
		mode, _ := strconv.ParseUint(s.Mode, 8, 32) // validated by manifest.Decode
		wantOwner := s.User + ":" + s.Group
		wantMode := fmt.Sprintf("%04o", mode)
		chown := Action{Kind: Chown, Service: s.Name, Dataset: s.Dataset, Path: s.Mountpoint, To: wantOwner, uid: own[0], gid: own[1]}
		chmod := Action{Kind: Chmod, Service: s.Name, Dataset: s.Dataset, Path: s.Mountpoint, To: wantMode, mode: uint32(mode)}
		if !known {
			after = append(after, chown, chmod)
			continue
		}
		st, err := stat(s.Mountpoint, s.Dataset)
		if err != nil {
			bad("service %s: %v", s.Name, err)
			continue
		}
		if int(st.Uid) != own[0] || int(st.Gid) != own[1] {
			chown.From = ownerName(st.Uid, st.Gid)
			after = append(after, chown)
		}
		if st.Mode&07777 != uint32(mode) {
			chmod.From = fmt.Sprintf("%04o", st.Mode&07777)
			after = append(after, chmod)
		}
	}
	p.Actions = append(p.Actions, after...)
	return problems
}

// diff adds a Set for each declared property (mountpoint included) that is
// not set locally or has another value, and a Refusal for each create-time
// property that differs.
func (p *Plan) diff(s manifest.Service, d *zfs.Dataset) {
	createOnly := map[string]bool{}
	for _, c := range s.CreateOnly {
		createOnly[c] = true
	}
	want := map[string]string{"mountpoint": s.Mountpoint}
	for k, v := range s.Properties {
		want[k] = v
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		have, ok := d.Props[k]
		same := ok && zfs.Normalize(k, have.Value) == zfs.Normalize(k, want[k])
		if createOnly[k] || rules.CreateOnly(k) {
			// Their source is always "-": only the value can differ.
			if !same {
				p.Refused = append(p.Refused, Refusal{Service: s.Name, Dataset: s.Dataset, Property: k, Have: have.Value, Want: want[k]})
			}
			continue
		}
		if have.SetTo(k, want[k]) {
			continue
		}
		p.Actions = append(p.Actions, Action{Kind: Set, Service: s.Name, Dataset: s.Dataset, Property: k, From: have.Value, Source: have.Source, To: want[k]})
	}
}

// propList is every property the bulk read needs, sorted and deduplicated.
func propList(m *manifest.Manifest) []string {
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, p := range readProps {
		add(p)
	}
	var declared []string
	for _, s := range m.Services {
		for k := range s.Properties {
			declared = append(declared, k)
		}
	}
	sort.Strings(declared)
	for _, k := range declared {
		add(k)
	}
	return out
}

func ownerName(uid, gid uint32) string {
	un, gn := strconv.Itoa(int(uid)), strconv.Itoa(int(gid))
	if u, err := user.LookupId(un); err == nil {
		un = u.Username
	}
	if g, err := user.LookupGroupId(gn); err == nil {
		gn = g.Name
	}
	return un + ":" + gn
}

// rootStat returns a statFunc that stats the mountpoint after making sure
// (in mounts, from zfs.Mounts) that the dataset is what is mounted there, so
// owner and mode are never read from or applied to the directory underneath.
func rootStat(mounts map[string]string) statFunc {
	return func(path, dataset string) (*syscall.Stat_t, error) {
		if src := mounts[path]; src != dataset {
			if src == "" {
				return nil, fmt.Errorf("%s is not mounted at %s", dataset, path)
			}
			return nil, fmt.Errorf("%s is mounted at %s, not %s", src, path, dataset)
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(path, &st); err != nil {
			return nil, &os.PathError{Op: "lstat", Path: path, Err: err}
		}
		return &st, nil
	}
}
