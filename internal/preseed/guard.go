package preseed

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nixgen/nixgen/internal/zfs"
)

// The invariant (see the package documentation) is enforced here: discard
// is the only function in preseed that destroys a dataset or a snapshot or
// rolls a dataset back, and it acts only on a proof that it checks against
// the live state right before acting. Everything else that preseed replaces
// is renamed aside by setAside, never destroyed.

// proofKind names the one situation in which discarding loses nothing.
type proofKind int

const (
	// A dataset under the service's name that a syncoid receive of the
	// replica created: every snapshot's guid is one of the replica's, there
	// is at least one, and nothing was written after the newest. Its
	// snapshots are copies of the replica's, which keeps them.
	proofPartialReceive proofKind = iota + 1
	// The dataset preseed set aside for a receive: marked with PropAside
	// naming the service's dataset, no snapshots, no datasets below it, and
	// no more referenced bytes than when it was set aside — it had been
	// checked empty, under the root lock, before that.
	proofEmptyAside
	// A read-only clone that preseed made of one of the service's snapshots
	// to look inside it: marked with PropProbe naming that snapshot, which
	// is its origin, and without snapshots of its own. The snapshot keeps
	// the data.
	proofProbeClone
	// A rollback without -r of the service's dataset to its newest
	// snapshot, while the dataset is mounted in place and empty: nothing
	// newer exists to lose, and zfs itself refuses if a newer snapshot
	// appeared meanwhile.
	proofRollbackEmpty
)

func (k proofKind) String() string {
	switch k {
	case proofPartialReceive:
		return "partial receive of the replica"
	case proofEmptyAside:
		return "empty set-aside dataset"
	case proofProbeClone:
		return "preseed's read-only probe clone"
	case proofRollbackEmpty:
		return "rollback of an empty dataset to its newest snapshot"
	}
	return "unknown proof"
}

// proof is what discard needs to check one kind.
type proof struct {
	kind   proofKind
	target string // the dataset to destroy, or the snapshot to roll back to
	// replica holds the guids of the replica's snapshots (partial receive).
	replica map[string]bool
}

// errNoProof means the state does not show that discarding loses nothing:
// the caller keeps the dataset (and usually sets it aside).
var errNoProof = errors.New("not provably preseed's to discard")

// guardProps is what discard reads of the target and its snapshots, in one
// `zfs get -d 1`.
var guardProps = []string{"type", "guid", "createtxg", "referenced", "used", "origin", PropAside, PropAsideRef, PropProbe, "written" /* last: dropped where unknown */}

// discard destroys p.target (or rolls back to it) if, and only if, the
// live state proves p. An unproven target is left as it is and the error
// wraps errNoProof.
func (r *run) discard(ctx context.Context, p proof) error {
	ds := p.target
	if p.kind == proofRollbackEmpty {
		ds, _, _ = strings.Cut(p.target, "@")
	}
	get := func(props []string) ([]byte, error) {
		return r.zfs.ZFSCmd(ctx, "get", "-H", "-p", "-d", "1", "-o", "name,property,value,source", strings.Join(props, ","), ds)
	}
	out, err := get(guardProps)
	var ze *zfs.Error
	if errors.As(err, &ze) && strings.Contains(ze.Stderr, "invalid property 'written'") {
		// zfs-fuse has no `written`; unwrittenSince then compares sizes.
		out, err = get(guardProps[:len(guardProps)-1])
	}
	if err != nil {
		return err
	}
	tree, err := zfs.ParseGet(out)
	if err != nil {
		return err
	}
	if err := checkProof(p, ds, tree, r.svc.Dataset, r.svc.Mountpoint); err != nil {
		return fmt.Errorf("%s as %s: %w", p.target, p.kind, err)
	}
	r.log.Info("discarding", "target", p.target, "proof", p.kind.String())
	switch p.kind {
	case proofRollbackEmpty:
		return r.zfs.Rollback(ctx, p.target, false)
	case proofPartialReceive:
		// Its snapshots are the replica's copies (checked above).
		if err := r.unmountIfMounted(ctx, ds); err != nil {
			return err
		}
		return zfs.RetryBusy(ctx, func() error { return r.zfs.DestroyRecursive(ctx, ds) })
	default:
		// No -r: zfs refuses a dataset that has snapshots or children.
		if err := r.unmountIfMounted(ctx, ds); err != nil {
			return err
		}
		return zfs.RetryBusy(ctx, func() error { return r.zfs.Destroy(ctx, ds) })
	}
}

// checkProof checks p against tree (ds and everything one level below it).
func checkProof(p proof, ds string, tree zfs.Tree, service, mountpoint string) error {
	d := tree[ds]
	if d == nil {
		return fmt.Errorf("%w: zfs printed nothing for %s", errNoProof, ds)
	}
	var snaps, children []*zfs.Dataset
	for name, c := range tree {
		switch {
		case name == ds:
		case strings.HasPrefix(name, ds+"@"):
			snaps = append(snaps, c)
		default:
			children = append(children, c)
		}
	}
	if len(children) > 0 {
		return fmt.Errorf("%w: it has datasets below it", errNoProof)
	}
	val := func(d *zfs.Dataset, prop string) string { return d.Props[prop].Value }
	switch p.kind {
	case proofRollbackEmpty:
		if ds != service {
			return fmt.Errorf("%w: not the service's dataset", errNoProof)
		}
		if newest := newestSnapshot(snaps); newest == nil || newest.Name != p.target {
			return fmt.Errorf("%w: it is not the newest snapshot", errNoProof)
		}
		empty, err := isEmpty(mountpoint)
		if err != nil {
			return err
		}
		if !empty {
			return fmt.Errorf("%w: %s holds data", errNoProof, mountpoint)
		}
	case proofPartialReceive:
		if ds != service {
			return fmt.Errorf("%w: not the service's dataset", errNoProof)
		}
		if len(snaps) == 0 {
			return fmt.Errorf("%w: it has no snapshot of the replica", errNoProof)
		}
		for _, s := range snaps {
			if !p.replica[val(s, "guid")] {
				return fmt.Errorf("%w: snapshot %s is not one of the replica's (guid %s)", errNoProof, s.Name, val(s, "guid"))
			}
		}
		if !unwrittenSince(d, newestSnapshot(snaps)) {
			return fmt.Errorf("%w: data was written after its newest snapshot", errNoProof)
		}
	case proofEmptyAside:
		if val(d, PropAside) != service {
			return fmt.Errorf("%w: %s is %q, not %s", errNoProof, PropAside, val(d, PropAside), service)
		}
		if len(snaps) > 0 {
			return fmt.Errorf("%w: it has %d snapshot(s)", errNoProof, len(snaps))
		}
		rec, ok := parseNum(val(d, PropAsideRef))
		now, ok2 := parseNum(val(d, "referenced"))
		if !ok || !ok2 || now > rec {
			return fmt.Errorf("%w: it references %s bytes, %s when it was set aside empty", errNoProof, val(d, "referenced"), val(d, PropAsideRef))
		}
	case proofProbeClone:
		origin := val(d, PropProbe)
		if origin == "" || origin == "-" || val(d, "origin") != origin || !strings.HasPrefix(origin, service+"@") {
			return fmt.Errorf("%w: origin %q, %s %q", errNoProof, val(d, "origin"), PropProbe, origin)
		}
		// (readonly is asked for at the clone, but zfs-fuse reports the
		// mount's "temporary" value, so it proves nothing here.)
		if len(snaps) > 0 {
			return fmt.Errorf("%w: it has snapshots", errNoProof)
		}
	default:
		return fmt.Errorf("%w: unknown proof", errNoProof)
	}
	return nil
}

// newestSnapshot is the snapshot with the highest createtxg (nil if none).
func newestSnapshot(snaps []*zfs.Dataset) *zfs.Dataset {
	var newest *zfs.Dataset
	for _, s := range snaps {
		if newest == nil || num(s.Props["createtxg"].Value) > num(newest.Props["createtxg"].Value) {
			newest = s
		}
	}
	return newest
}

// unwrittenSince reports whether nothing was written to d after its newest
// snapshot: `written` is 0 where zfs has it; zfs-fuse lacks it, so there
// the snapshot must own no blocks of its own (nothing was overwritten or
// removed) and reference what the dataset references (nothing was added).
func unwrittenSince(d, newest *zfs.Dataset) bool {
	if w, ok := parseNum(d.Props["written"].Value); ok {
		return w == 0
	}
	if newest == nil {
		return false
	}
	ref, ok := parseNum(d.Props["referenced"].Value)
	used, ok1 := parseNum(newest.Props["used"].Value)
	sref, ok2 := parseNum(newest.Props["referenced"].Value)
	return ok && ok1 && ok2 && used == 0 && sref == ref
}

func parseNum(s string) (uint64, bool) {
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

func num(s string) uint64 { n, _ := parseNum(s); return n }

// asideName is where setAside keeps a replaced dataset.
func asideName(ds string, now time.Time) string {
	return ds + AsideInfix + now.UTC().Format("20060102T150405Z")
}

// setAside keeps ds (unmounted) under a new name <service>.nixgen-aside-<UTC
// time>, canmount=noauto, with user properties saying what it was, why it
// was set aside and when. Nothing in it is touched; removing it is the
// operator's decision (`nixgen-helper preseed status` lists it).
func (r *run) setAside(ctx context.Context, ds, reason string) (string, error) {
	now := time.Now()
	to := asideName(r.svc.Dataset, now)
	if err := r.unmountIfMounted(ctx, ds); err != nil {
		return "", err
	}
	props := map[string]string{
		"canmount":      "noauto",
		PropAside:       r.svc.Dataset,
		PropAsideReason: reason,
		PropAsideTime:   now.UTC().Format(time.RFC3339),
	}
	if err := r.zfs.SetProps(ctx, ds, props); err != nil {
		return "", err
	}
	if err := r.rename(ctx, ds, to); err != nil {
		return "", err
	}
	r.log.Warn("set aside, kept for the operator", "was", ds, "aside", to, "reason", reason)
	r.keptAside = append(r.keptAside, to)
	return to, nil
}
