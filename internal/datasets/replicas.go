package datasets

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/zfs"
)

// Replicas: datasets that other hosts send here with syncoid. A replica
// must never be mounted by `zfs mount -a` at boot (it would shadow or race
// the paths of its own host's service), so apply keeps it at
// canmount=noauto. A replica that has not been received yet is skipped and
// listed in the plan; nothing else about replicas is touched.

// replicaCanmount is the value apply keeps on every existing replica.
const replicaCanmount = "noauto"

// planReplicas reads the replicas' canmount in one `zfs get` per pool and
// adds a Set for each existing replica that is not noauto.
func (p *Plan) planReplicas(ctx context.Context, r *zfs.Runner, m *manifest.Manifest) error {
	p.MissingReplicas = []string{}
	if len(m.Replicas) == 0 {
		return nil
	}
	byPool := map[string][]manifest.Replica{}
	for _, rep := range m.Replicas {
		pool, _, _ := strings.Cut(rep.Dataset, "/")
		byPool[pool] = append(byPool[pool], rep)
	}
	pools := make([]string, 0, len(byPool))
	for pool := range byPool {
		pools = append(pools, pool)
	}
	sort.Strings(pools)
	for _, pool := range pools {
		tree, err := r.GetTree(ctx, pool, "type", "canmount")
		if zfs.NotExist(err) {
			tree = zfs.Tree{}
		} else if err != nil {
			return fmt.Errorf("reading replicas in pool %s: %w", pool, err)
		}
		for _, rep := range byPool[pool] {
			d := tree[rep.Dataset]
			switch {
			case d == nil:
				p.MissingReplicas = append(p.MissingReplicas, rep.Dataset)
			case d.Type() != "filesystem":
				// canmount does not apply to volumes.
			case d.Props["canmount"].Value != replicaCanmount || !d.Props["canmount"].Local():
				p.Actions = append(p.Actions, Action{Kind: Set, Dataset: rep.Dataset, Property: "canmount",
					From: d.Props["canmount"].Value, Source: d.Props["canmount"].Source, To: replicaCanmount})
			}
		}
	}
	sort.Strings(p.MissingReplicas)
	return nil
}
