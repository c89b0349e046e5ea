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
//
// A dataset merely having the replica's name proves nothing (a replication
// target may name any dataset, e.g. pool/home): apply touches it only when
// it can show that it was received from the replica's source — the user
// property nixgen:replica-of naming that source (set at the receive, or by
// an earlier apply), or, when the source is on this host, a snapshot whose
// guid is one of the source's. Anything else is left alone and listed.

// PropReplicaOf names, on a received replica, the "host:dataset" it comes from.
const PropReplicaOf = "nixgen:replica-of"

// replicaCanmount is the value apply keeps on every existing replica.
const replicaCanmount = "noauto"

// UnprovenReplica is a dataset with a replica's name that apply cannot
// show was received from the replica's source: it is not touched.
type UnprovenReplica struct {
	Dataset string `json:"dataset"`
	Source  string `json:"source"`
	Why     string `json:"why"`
}

// planReplicas reads the replicas' canmount and nixgen:replica-of in one
// `zfs get` per pool and, for each replica proven to be one, adds a Set of
// canmount=noauto when needed (and of nixgen:replica-of when the proof was
// a snapshot guid).
func (p *Plan) planReplicas(ctx context.Context, r *zfs.Runner, m *manifest.Manifest) error {
	p.MissingReplicas = []string{}
	p.UnprovenReplicas = []UnprovenReplica{}
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
		tree, err := r.GetTree(ctx, pool, "type", "canmount", PropReplicaOf)
		if zfs.NotExist(err) {
			tree = zfs.Tree{}
		} else if err != nil {
			return fmt.Errorf("reading replicas in pool %s: %w", pool, err)
		}
		for _, rep := range byPool[pool] {
			d := tree[rep.Dataset]
			if d == nil {
				p.MissingReplicas = append(p.MissingReplicas, rep.Dataset)
				continue
			}
			if d.Type() != "filesystem" {
				continue // canmount does not apply to volumes.
			}
			if d.Props[PropReplicaOf].Value != rep.Source {
				why, err := proveLocalReplica(ctx, r, m.Host, rep)
				if err != nil {
					return err
				}
				if why != "" {
					p.UnprovenReplicas = append(p.UnprovenReplicas, UnprovenReplica{Dataset: rep.Dataset, Source: rep.Source, Why: why})
					continue
				}
				p.Actions = append(p.Actions, Action{Kind: Set, Dataset: rep.Dataset, Property: PropReplicaOf,
					From: d.Props[PropReplicaOf].Value, Source: d.Props[PropReplicaOf].Source, To: rep.Source})
			}
			if d.Props["canmount"].Value != replicaCanmount || !d.Props["canmount"].Local() {
				p.Actions = append(p.Actions, Action{Kind: Set, Dataset: rep.Dataset, Property: "canmount",
					From: d.Props["canmount"].Value, Source: d.Props["canmount"].Source, To: replicaCanmount})
			}
		}
	}
	sort.Strings(p.MissingReplicas)
	return nil
}

// proveLocalReplica returns "" when rep's source is a dataset of this host
// and rep shares a snapshot (by guid) with it, else why it is not proven.
func proveLocalReplica(ctx context.Context, r *zfs.Runner, host string, rep manifest.Replica) (string, error) {
	srcHost, src, ok := strings.Cut(rep.Source, ":")
	if !ok || srcHost != host {
		return fmt.Sprintf("no %s=%s on it (set at the receive, or by hand once you have checked)", PropReplicaOf, rep.Source), nil
	}
	guids := func(ds string) (map[string]bool, error) {
		out, err := r.ZFSCmd(ctx, "get", "-H", "-p", "-d", "1", "-o", "name,value", "guid", ds)
		if err != nil {
			return nil, err
		}
		g := map[string]bool{}
		for _, line := range strings.Split(string(out), "\n") {
			if name, v, ok := strings.Cut(line, "\t"); ok && strings.Contains(name, "@") {
				g[v] = true
			}
		}
		return g, nil
	}
	have, err := guids(rep.Dataset)
	if err != nil {
		return "", fmt.Errorf("reading the snapshots of replica %s: %w", rep.Dataset, err)
	}
	want, err := guids(src)
	if zfs.NotExist(err) {
		return fmt.Sprintf("its source %s does not exist on this host", src), nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the snapshots of %s: %w", src, err)
	}
	for g := range have {
		if want[g] {
			return "", nil
		}
	}
	return fmt.Sprintf("none of its snapshots is one of %s's (by guid), and it has no %s", src, PropReplicaOf), nil
}
