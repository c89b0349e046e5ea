package datasets

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/safefs"
	"github.com/nixgen/nixgen/internal/zfs"
)

// Result is what apply did.
type Result struct {
	Plan    *Plan    `json:"plan"`
	Done    []Action `json:"done"`    // actions carried out, in order
	Skipped []Action `json:"skipped"` // owner/mode actions found already right once the dataset was mounted
}

// Apply makes the plan, carries it out, and verifies that every declared
// dataset exists as a filesystem, mounted at its mountpoint, with the
// declared owner and mode. Progress lines go to log (may be nil). On a
// failure it stops at once and returns what was done so far with the error;
// running it again picks up from the state it left.
func Apply(ctx context.Context, r *zfs.Runner, m *manifest.Manifest, log io.Writer) (*Result, error) {
	m = m.Managed()
	if log == nil {
		log = io.Discard
	}
	p, err := Make(ctx, r, m)
	if err != nil {
		return nil, err
	}
	res := &Result{Plan: p, Done: []Action{}, Skipped: []Action{}}
	var stat statFunc // read once the zfs changes (which mount) are done
	for _, a := range p.Actions {
		if (a.Kind == Chown || a.Kind == Chmod) && stat == nil {
			mounts, err := zfs.Mounts()
			if err != nil {
				return res, err
			}
			stat = rootStat(mounts)
		}
		done, err := carryOut(ctx, r, a, stat)
		if err != nil {
			return res, fmt.Errorf("%s: %w", Describe(a), err)
		}
		if done {
			res.Done = append(res.Done, a)
			fmt.Fprintf(log, "done: %s\n", Describe(a))
		} else {
			res.Skipped = append(res.Skipped, a)
		}
	}

	tree := p.tree
	if p.ZFSActions() > 0 {
		// Re-read: zfs may have accepted a call without doing all of it
		// (a create that could not mount, a racing admin).
		tree, err = r.GetTree(ctx, m.Parent.Dataset, readProps...)
		if err != nil {
			return res, fmt.Errorf("verifying datasets under %s: %w", m.Parent.Dataset, err)
		}
	}
	if err := verify(m, tree, p.owners); err != nil {
		return res, err
	}
	return res, nil
}

func carryOut(ctx context.Context, r *zfs.Runner, a Action, stat statFunc) (bool, error) {
	switch a.Kind {
	case CreateParent:
		return true, r.Create(ctx, a.Dataset, a.Props, true)
	case Create:
		return true, r.Create(ctx, a.Dataset, a.Props, a.Parents)
	case Set:
		return true, r.Set(ctx, a.Dataset, a.Property, a.To)
	case AllowLocal:
		return true, r.AllowLocal(ctx, a.User, strings.Split(a.To, ","), a.Dataset)
	case AllowCreate:
		return true, r.AllowCreate(ctx, strings.Split(a.To, ","), a.Dataset)
	case Mount:
		err := r.Mount(ctx, a.Dataset)
		if err != nil {
			// Setting the mountpoint may already have mounted it.
			if src, _ := zfs.MountSource(a.Path); src == a.Dataset {
				return false, nil
			}
		}
		return err == nil, err
	case Chown, Chmod:
		// The dataset must be what is mounted there (mount table) ...
		if _, err := stat(a.Path, a.Dataset); err != nil {
			return false, err
		}
		// ... and the change goes to the mount root held open, never
		// through the path again.
		root, err := safefs.OpenMount(a.Path)
		if err != nil {
			return false, err
		}
		defer root.Close()
		if a.Kind == Chown {
			return root.Chown(a.uid, a.gid)
		}
		if root.Stat().Mode&07777 == a.mode {
			return false, nil
		}
		// The raw mode, setgid and sticky bits included.
		return true, root.Chmod(a.mode)
	}
	return false, fmt.Errorf("unknown action kind %q", a.Kind)
}

// verify checks the declared end state; it runs no process.
func verify(m *manifest.Manifest, tree zfs.Tree, owners map[string][2]int) error {
	mounts, err := zfs.Mounts()
	if err != nil {
		return err
	}
	stat := rootStat(mounts)
	var problems []string
	for _, s := range m.Services {
		d := tree[s.Dataset]
		switch {
		case d == nil:
			problems = append(problems, fmt.Sprintf("%s does not exist", s.Dataset))
			continue
		case d.Type() != "filesystem":
			problems = append(problems, fmt.Sprintf("%s is a %s", s.Dataset, d.Type()))
			continue
		case d.Props["mountpoint"].Value != s.Mountpoint:
			problems = append(problems, fmt.Sprintf("%s has mountpoint %s, want %s", s.Dataset, d.Props["mountpoint"].Value, s.Mountpoint))
			continue
		case d.Props["mounted"].Value != "yes":
			problems = append(problems, fmt.Sprintf("%s is not mounted", s.Dataset))
			continue
		}
		st, err := stat(s.Mountpoint, s.Dataset)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		uid, gid := owners[s.Name][0], owners[s.Name][1] // Make resolved them all
		var mode uint32
		fmt.Sscanf(s.Mode, "%o", &mode)
		if int(st.Uid) != uid || int(st.Gid) != gid || st.Mode&07777 != mode {
			problems = append(problems, fmt.Sprintf("%s is owned by %s mode %04o, want %s:%s mode %04o",
				s.Mountpoint, ownerName(st.Uid, st.Gid), st.Mode&07777, s.User, s.Group, mode))
		}
	}
	if len(problems) > 0 {
		return &VerifyError{Problems: problems}
	}
	return nil
}

// VerifyError lists what still differs after apply.
type VerifyError struct {
	Problems []string
}

func (e *VerifyError) Error() string {
	return "after apply, the datasets do not match the manifest:\n  " + strings.Join(e.Problems, "\n  ")
}
