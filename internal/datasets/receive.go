package datasets

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/zfs"
)

// Receive parents: where other hosts of the specs push replicas over ssh
// (manifest "receive"). Apply creates a missing parent with
// mountpoint=none (so received replicas inherit it and stay unmounted) and
// delegates to the receive user exactly what syncoid needs, only adding
// what is missing and never taking anything away:
//
//   - locally on the parent, manifest.ReceiveParentPermissions: create a
//     new replica there (`zfs allow -l -u USER create,mount,receive P`);
//   - as create-time permissions on the parent, manifest.ReceivePermissions:
//     ZFS grants them to whoever creates a dataset below P, on that dataset
//     only (`zfs allow -c ... P`), so the receive user holds them on the
//     replicas it received and on nothing else, even when P is a pool's root.

// Kinds of the receive actions.
const (
	AllowLocal  Kind = "allow-local"  // zfs allow -l -u USER PERMS PARENT
	AllowCreate Kind = "allow-create" // zfs allow -c PERMS PARENT
)

// planReceive adds the actions for the manifest's receive parents: one
// bulk read per pool for their existence and one `zfs allow` per parent.
func (p *Plan) planReceive(ctx context.Context, r *zfs.Runner, m *manifest.Manifest) error {
	if len(m.Receive) == 0 {
		return nil
	}
	trees := map[string]zfs.Tree{}
	var problems []string
	for _, rc := range m.Receive {
		pool, _, _ := strings.Cut(rc.Parent, "/")
		tree, ok := trees[pool]
		if !ok {
			var err error
			tree, err = r.GetTree(ctx, pool, "type")
			switch {
			case zfs.NotExist(err):
				problems = append(problems, fmt.Sprintf("receive parent %s: pool %s is not imported", rc.Parent, pool))
				tree = nil
			case err != nil:
				return fmt.Errorf("reading receive parents in pool %s: %w", pool, err)
			}
			trees[pool] = tree
		}
		if tree == nil {
			continue
		}
		var have *zfs.Perms
		switch d := tree[rc.Parent]; {
		case d == nil:
			if !p.creates(rc.Parent) {
				p.Actions = append(p.Actions, Action{Kind: CreateParent, Dataset: rc.Parent, Props: map[string]string{"mountpoint": "none"}})
			}
		case d.Type() != "filesystem":
			problems = append(problems, fmt.Sprintf("receive parent %s exists as a %s, not a filesystem", rc.Parent, d.Type()))
			continue
		default:
			perms, err := r.Allowed(ctx, rc.Parent)
			if err != nil {
				return fmt.Errorf("reading the permissions delegated on %s: %w", rc.Parent, err)
			}
			have = perms
		}
		p.Actions = append(p.Actions, allowActions(rc, have)...)
	}
	if len(problems) > 0 {
		return &PreconditionError{Problems: problems}
	}
	return nil
}

// creates reports whether the plan already creates dataset.
func (p *Plan) creates(dataset string) bool {
	for _, a := range p.Actions {
		if (a.Kind == CreateParent || a.Kind == Create) && a.Dataset == dataset {
			return true
		}
	}
	return false
}

// allowActions compares what is delegated on the parent (nil: nothing yet,
// it is about to be created) with what the receive user needs, and returns
// the `zfs allow` calls that add the missing permissions.
func allowActions(rc manifest.Receive, have *zfs.Perms) []Action {
	var local, create map[string]bool
	if have != nil {
		local, create = have.Local["user "+rc.User], have.CreateTime
	}
	var out []Action
	if miss := missing(manifest.ReceiveParentPermissions, local); len(miss) > 0 {
		out = append(out, Action{Kind: AllowLocal, Dataset: rc.Parent, User: rc.User, To: strings.Join(miss, ",")})
	}
	if miss := missing(manifest.ReceivePermissions, create); len(miss) > 0 {
		out = append(out, Action{Kind: AllowCreate, Dataset: rc.Parent, User: rc.User, To: strings.Join(miss, ",")})
	}
	return out
}

// missing returns the permissions of want that have lacks, sorted.
func missing(want []string, have map[string]bool) []string {
	var out []string
	for _, w := range want {
		if !have[w] {
			out = append(out, w)
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}
