package zfs

import "context"

// Operations the backup snapshot needs: a read-only view of a snapshot
// that can be bind-mounted into a unit's namespace.

// Clone runs `zfs clone [-o k=v ...] snap name`, options sorted by name.
func (r *Runner) Clone(ctx context.Context, snap, name string, props map[string]string) error {
	args := []string{"clone"}
	for _, k := range sortedKeys(props) {
		args = append(args, "-o", k+"="+props[k])
	}
	_, err := r.ZFSCmd(ctx, append(args, snap, name)...)
	return err
}

// Destroy runs `zfs destroy name` without -r: a dataset with snapshots or a
// snapshot with clones is refused by zfs rather than taken along.
func (r *Runner) Destroy(ctx context.Context, name string) error {
	_, err := r.ZFSCmd(ctx, "destroy", name)
	return err
}

// Promote runs `zfs promote clone`: the clone takes over its origin's
// snapshots up to the origin snapshot; nothing is destroyed.
func (r *Runner) Promote(ctx context.Context, clone string) error {
	_, err := r.ZFSCmd(ctx, "promote", clone)
	return err
}
